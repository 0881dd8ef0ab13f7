package config

import "fmt"

// Closest returns the candidate nearest to s by edit distance when it is near enough to
// be a misspelling (2 edits, 3 for words longer than 8), else "". Ties go to the
// alphabetically first candidate, so messages are stable.
func Closest(s string, cands []string) string {
	if len(s) > 64 { // nobody misspells a keyword that long; keep the cost bounded
		return ""
	}
	best, bestD := "", 1<<30
	for _, c := range cands {
		if d := editDistance(s, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	if bestD == 0 || bestD > limit || bestD >= len(s) {
		return ""
	}
	return best
}

// DidYouMean formats a suggestion from Closest as a message suffix; "" for none.
func DidYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", s)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
