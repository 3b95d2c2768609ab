package study

import (
	"fmt"
	"time"
)

// The time limit in the open (issue 10): the consent page states it, every
// trial page shows the time left, a warning comes five minutes before, and
// past the limit the participant gets a page that says what happened.

// WarnBefore is how long before the limit the trial page warns.
const WarnBefore = 5 * time.Minute

// Deadline is when the participant's time is up: the study's time limit
// after they first opened the link (the answer statement refuses answers
// from then on, postgres.Store.Submit).
func (p Participant) Deadline(st Study) time.Time {
	return p.StartedAt.Add(time.Duration(st.TimeLimitMinutes) * time.Minute)
}

// TimeUp reports whether the participant's time is up at now: timed out, or
// still started past the deadline (before the sweep marks them).
func (p Participant) TimeUp(st Study, now time.Time) bool {
	return p.Status == TimedOut || p.Status == Started && !now.Before(p.Deadline(st))
}

// TimeLeftText says how much time is left, for people: whole minutes,
// rounded up ("12 minutes left"), and minutes and seconds in the last
// WarnBefore ("4:05 left"), so the number never reads zero while time is
// left. The trial page's script counts down in the same words
// (web/static/trial.js).
func TimeLeftText(left time.Duration) string {
	if left <= 0 {
		return "No time left"
	}
	s := int((left + time.Second - 1) / time.Second)
	if left <= WarnBefore {
		return fmt.Sprintf("%d:%02d left", s/60, s%60)
	}
	m := (s + 59) / 60
	if m == 1 {
		return "1 minute left"
	}
	return fmt.Sprintf("%d minutes left", m)
}

// ScoreShown reports whether the end page may show the participant's score
// and bonus. Only when Prolific confirmed the PID and its session at entry
// (a linked study): anyone can make up PIDs on an unconfirmed link, and a
// score per made-up participant (one answer changed each time) tells which
// answers are right. A confirmed participant has one submission, so their
// score tells only what they answered.
func (p Participant) ScoreShown() bool { return p.Verified }
