/* "Did you mean": the known word closest to a misspelt one. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define WORD_MAX 32 /* keys and values we suggest are short; longer input gets no hint */

static size_t min3(size_t a, size_t b, size_t c) {
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Edit distance counting insertions, deletions, substitutions and swaps of neighbours
 * ("optimal string alignment"), ignoring case: "shceduler" and "Scheduler" are both 1 or 0 away. */
static size_t distance(const char *a, const char *b) {
	size_t la = strlen(a), lb = strlen(b);
	size_t d[WORD_MAX + 1][WORD_MAX + 1];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[la][lb];
}

/* A candidate is close enough when at most 2 edits away and the edits change at most a third of
 * it (otherwise "rr" would be suggested for any two letters, "sctp" for "icmp"). */
const char *cfg_suggest(const char *word, const char *const *cands, size_t n) {
	if (strlen(word) > WORD_MAX)
		return NULL;
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < n; i++) {
		if (strlen(cands[i]) > WORD_MAX)
			continue;
		size_t dist = distance(word, cands[i]);
		if (dist < best_d && 3 * dist <= strlen(cands[i])) {
			best = cands[i];
			best_d = dist;
		}
	}
	return best;
}

const char *cfg_join(const char *const *words, size_t n, const char *last, char *buf, size_t len) {
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && o < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? last : ", ";
		int r = snprintf(buf + o, len - o, "%s%s", sep, words[i]);
		if (r < 0)
			break;
		o += (size_t)r;
	}
	return buf;
}
