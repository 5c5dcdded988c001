// Package didyoumean picks the known word a mistyped one was meant to be:
// a command, a flag, a flag's value, a YAML key. Its cost is bounded for
// input of any length, since a document under parse may be untrusted.
package didyoumean

import "strings"

// maxRunes bounds the words compared: no typo is that long.
const maxRunes = 100

// Suggest returns the candidate closest to s when it is close enough to be
// a typo, or "": the same word in another case, or within one edit per
// three letters of s (at least 1, at most 3). Swapping two adjacent
// letters is one edit ("retyr" is one from "retry").
func Suggest(s string, candidates []string) string {
	limit := min(3, max(1, len(s)/3))
	best, bestD := "", limit+1
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		if len(s) > len(c)+limit || len(c) > len(s)+limit {
			continue // cannot be within limit; skip the quadratic work
		}
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the edit distance with adjacent transpositions counted as
// one edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxRunes || len(rb) > maxRunes {
		return 1 << 30
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
