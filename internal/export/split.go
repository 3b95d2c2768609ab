package export

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/cubelab/cubelab/internal/task"
)

// draw is a reproducible number in [0, 1) for a stimulus: the first 8 bytes of
// SHA-256(purpose || seed as 8 bytes big-endian || stimulus id), read big-endian,
// top 53 bits over 2^53. It depends on nothing but its arguments, so the split is
// decided the moment a stimulus streams past, and anyone can recompute it.
func draw(purpose string, seed uint64, id string) float64 {
	h := sha256.New()
	h.Write([]byte(purpose))
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seed)
	h.Write(s[:])
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	u := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	return float64(u>>11) / (1 << 53)
}

// inValidation puts a stimulus, and so all its examples, in the validation split.
func inValidation(seed uint64, id string, fraction float64) bool {
	return draw("split", seed, id) < fraction
}

// coin breaks a tie for one image: the same seed and id always give the same side.
func coin(seed uint64, id string) string {
	if draw("coin", seed, id) < 0.5 {
		return task.Yes
	}
	return task.No
}
