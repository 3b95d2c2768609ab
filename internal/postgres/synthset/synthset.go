// Package synthset makes synthetic stimulus sets in memory (plainly drawn
// towers with known answers) for the store to import: the load generator
// imports one into a real database, the tests import them everywhere. It
// links no testing code, so a shipped binary may use it.
package synthset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/task"
)

// PNG returns a 512x512 picture of a few stacked blocks on a grey floor,
// different for every i, so that pages look as they will with real stimuli.
func PNG(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 512, 512))
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := max(y0, 0); y < min(y1, 512); y++ {
			for x := max(x0, 0); x < min(x1, 512); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	fill(0, 0, 512, 360, color.RGBA{200, 200, 204, 255})   // wall
	fill(0, 360, 512, 512, color.RGBA{150, 150, 156, 255}) // floor
	palette := []color.RGBA{{52, 101, 164, 255}, {78, 154, 6, 255}, {237, 212, 0, 255}, {117, 80, 123, 255}, {245, 121, 0, 255}}
	blocks := 2 + i%3
	for b := range blocks {
		off := ((i+1)*(b+3)*37)%61 - 30
		y1 := 400 - b*70
		fill(206+off, y1-70, 306+off, y1, palette[(i+b)%len(palette)])
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory RGBA cannot fail
	}
	return buf.Bytes()
}

// TowerSet is an in-memory set of n towers named name: item i (t01, t02, ...)
// has 2 + i%3 blocks, and the answer Yes when i is even.
func TowerSet(name string, n int) postgres.SetImport {
	in := postgres.SetImport{Name: name}
	for i := range n {
		answer := task.No
		if i%2 == 0 {
			answer = task.Yes
		}
		in.Items = append(in.Items, postgres.ItemImport{
			ExtID: fmt.Sprintf("t%02d", i+1), Domain: task.Tower, NBlocks: 2 + i%3, Size: 2 + i%3,
			Answer: answer, Split: "test", File: fmt.Sprintf("images/t%02d.png", i+1), Image: PNG(i),
		})
	}
	return in
}
