package study

// Counterbalanced answer sides (issue 10, item 6): half the participants
// see Yes on the left, half on the right, so that a preference for one side
// of the screen does not look like a preference for one answer. The Y and N
// keys keep their meaning; the arrow keys follow the sides.

// Side is where the Yes button is: SideLeft or SideRight.
type Side string

// The sides of the Yes button.
const (
	SideLeft  Side = "left"
	SideRight Side = "right"
)

// YesSideFor is the Yes side of the participant who took the n-th place
// (1-based) of place shard shard (postgres/study_places.go). Within a shard
// the sides alternate, and consecutive shards start on opposite sides, so
// among the participants holding places the two sides differ by at most
// the number of shards partly filled (shards fill in order: usually one).
func YesSideFor(shard, n int) Side {
	if (shard+n)%2 == 1 {
		return SideLeft
	}
	return SideRight
}
