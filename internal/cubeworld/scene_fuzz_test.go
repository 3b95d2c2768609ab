package cubeworld

import (
	"encoding/json"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// FuzzScene reads any line of scenes.jsonl as a Scene: a scene that passes
// Check has its ground truth recomputed without a panic, as Yes, No or an
// error, however odd its blocks.
func FuzzScene(f *testing.F) {
	for _, s := range []string{
		`{"id":"t1","domain":"tower","blocks":[{"size":[0.1,0.1,0.1],"pos":[0,0,0.05],"yaw_deg":0,"color":"#336699"},{"size":[0.1,0.1,0.1],"pos":[0.02,0,0.15],"yaw_deg":10,"color":"#aa0000"}],"red":null,"answer":"No"}`,
		`{"id":"t2","domain":"tower","blocks":[{"size":[0.1,0.1,0.1],"pos":[0,0,0.05],"yaw_deg":0,"color":"#336699"},{"size":[0.1,0.1,0.1],"pos":[0.09,0,0.15],"yaw_deg":0,"color":"#aa0000"}],"red":null,"answer":"Yes"}`,
		`{"id":"p1","domain":"pyramid","blocks":[{"size":[0.1,0.1,0.1],"pos":[-0.05,0,0.05],"yaw_deg":0,"color":"#ff0000"},{"size":[0.1,0.1,0.1],"pos":[0.05,0,0.05],"yaw_deg":0,"color":"#00ff00"},{"size":[0.1,0.1,0.1],"pos":[0,0,0.15],"yaw_deg":0,"color":"#0000ff"}],"red":0,"answer":"Yes"}`,
		`{"id":"f","domain":"tower","blocks":[{"size":[0.1,0.1,0.1],"pos":[0,0,5],"yaw_deg":0,"color":"#336699"}],"red":null,"answer":"Yes"}`,
		`{"id":"x","domain":"pyramid","blocks":[{"size":[0.1,0.1,0.1],"pos":[0,0,0.05],"yaw_deg":0,"color":"#336699"}],"red":7,"answer":"Yes"}`,
		`{"id":"n","domain":"tower","blocks":[{"size":[-1,0,1e309],"pos":[0,0,0],"yaw_deg":0,"color":"red"}]}`,
		`{"id":"e","domain":"tower","blocks":[]}`, `{}`, `null`, `[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var s Scene
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return
		}
		if s.Check() != nil {
			return
		}
		if len(s.Blocks) > 16 {
			return // the statics grow with the blocks; sixteen says what a fuzzer can
		}
		if _, err := task.ParseDomain(string(s.Domain)); err != nil {
			return
		}
		answer, err := GroundTruth(s)
		if err == nil && !task.ValidAnswer(answer) {
			t.Fatalf("ground truth %q for %s", answer, line)
		}
	})
}
