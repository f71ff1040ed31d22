/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package prom

import (
	"strconv"
	"strings"
)

// Expand replaces each $name in query whose name is a key of vars with the
// value as a complete, quoted PromQL string literal, such as "churn-model".
// Queries write `{product=$product}`, not `{product="$product"}`: since the
// operator writes the quotes itself, no value can close the string and add
// matchers or operators. A $name inside a string literal or a comment is
// left as written: a value pasted into a string the template opened could
// close that string (a backtick string has no escapes at all). Unknown
// $names are left alone too, so a query can still use $ in a regular
// expression.
func Expand(query string, vars map[string]string) string {
	if !strings.Contains(query, "$") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 32)
	// quote is the delimiter of the string literal the scan is in, '#' in a
	// comment, 0 in the query itself.
	var quote byte
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case quote == '#':
			if c == '\n' {
				quote = 0
			}
		case quote != 0:
			if c == '\\' && quote != '`' && i+1 < len(query) {
				b.WriteByte(c)
				i++
				c = query[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`' || c == '#':
			quote = c
		case c == '$':
			j := i + 1
			for j < len(query) && isIdent(query[j]) {
				j++
			}
			if v, ok := vars[query[i+1:j]]; ok && j > i+1 {
				b.WriteString(Quote(v))
				i = j
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// Quote renders s as a PromQL double-quoted string literal. PromQL string
// escapes follow Go's, so strconv.Quote is exact.
func Quote(s string) string { return strconv.Quote(s) }

func isIdent(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
