package modelout_test

import (
	"fmt"
	"strings"

	"github.com/cubelab/cubelab/internal/modelout"
)

func ExampleParse() {
	in := `model,condition,seed,stimulus_id,logprob_yes,logprob_no
qwen2-vl-7b,towers 2-4,1,tower-0001,-0.105,-2.303
qwen2-vl-7b,towers 2-4,1,tower-0002,-3.0,-0.05
qwen2-vl-7b,towers 2-4,1,tower-0003,-1.6,
`
	rows, err := modelout.Parse(strings.NewReader(in), modelout.Options{Name: "qwen.csv"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows {
		fmt.Printf("%s %s P(Yes)=%.3f coverage=%.3f flags=%q\n", r.StimulusID, r.Answer(), r.PYes, r.Coverage, r.Flag)
	}
	_, err = modelout.Parse(strings.NewReader("model,stimulus_id,p_yes\nm,a,1.5\n"), modelout.Options{Name: "bad.csv"})
	fmt.Println(err)
	// Output:
	// tower-0001 Yes P(Yes)=0.900 coverage=1.000 flags=""
	// tower-0002 No P(Yes)=0.050 coverage=1.000 flags=""
	// tower-0003 Yes P(Yes)=1.000 coverage=0.202 flags="low-coverage,missing-no"
	// bad.csv:2: p_yes: 1.5 is not a probability
}
