package study

// Breaks (issue 10, item 7): a study may pause its participants every N
// trials on a short page that shows their progress and the time left. The
// pause holds nothing: the time limit keeps running, the next trial is
// still the next unanswered one, and a participant who reopens the link
// goes straight on.

// MaxBreakEvery bounds the setting "pause every N trials".
const MaxBreakEvery = 10000

// BreakAfter reports whether a participant who has just answered trial pos
// of total pauses before the next one, in a study that pauses every every
// trials (0: never). The last trial is followed by the end page, not a break.
func BreakAfter(every, pos, total int) bool {
	return every > 0 && pos > 0 && pos < total && pos%every == 0
}
