// Command server is cubelab's one binary: it serves the platform (the default)
// and holds the command-line tools for stimuli, model outputs, analyses and exports.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a command may touch of the outside world, passed in so that a
// test can run any command in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if err := run(ctx, os.Args[1:], e); err != nil {
		fmt.Fprintln(os.Stderr, "cubelab:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks an error in the command line itself.
var errUsage = errors.New("usage")

const usage = `usage: server [command] [flags]

commands:
  serve      run the web platform (the default)
  migrate    apply the database migrations and exit
  stimuli    generate, validate and import stimulus sets
  admin      manage experimenter accounts
  models     import model outputs, write batch inputs, query an endpoint
  analyze    print a study's comparison of people and models
  figures    write every report figure as SVG, PDF and CSV, laid out for print
  export     write a fine-tuning data set as a ZIP
  plan       find the participants a kappa's interval needs (no database)

Run "server COMMAND -h" for a command's flags.`

// run dispatches to a command; with no command it serves.
func run(ctx context.Context, args []string, e env) error {
	cmd := "serve"
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, e)
	case "migrate":
		return runMigrate(ctx, args, e)
	case "stimuli":
		return runStimuli(ctx, args, e)
	case "admin":
		return runAdmin(ctx, args, e)
	case "models":
		return runModels(ctx, args, e)
	case "analyze":
		return runAnalyze(ctx, args, e)
	case "figures":
		return runFigures(ctx, args, e)
	case "export":
		return runExport(ctx, args, e)
	case "plan":
		return runPlan(ctx, args, e)
	case "help", "-h", "--help":
		fmt.Fprintln(e.stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q\n\n%s", errUsage, cmd, usage)
}
