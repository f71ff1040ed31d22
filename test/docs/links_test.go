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

// Package docs checks the documentation's links: every relative link in
// README.md and docs/ names a file of the repository and, with a
// fragment, a heading of that page; and every page under docs/ is linked
// from README.md.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const root = "../.."

var (
	// link is an inline Markdown link or image: [text](target) or
	// [text](target "title").
	link = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// heading is an ATX heading.
	heading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	// fence opens or closes a code block, whose lines are not Markdown.
	fence = regexp.MustCompile("^\\s*(```|~~~)")
	// inlineLink is a link inside a heading, whose text alone counts.
	inlineLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// pages returns README.md and every Markdown file under docs/, relative to
// the repository's root.
func pages(t *testing.T) []string {
	t.Helper()
	out := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lines returns a page's lines outside code blocks.
func lines(t *testing.T, page string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inFence := false
	for _, l := range strings.Split(string(b), "\n") {
		if fence.MatchString(l) {
			inFence = !inFence
			continue
		}
		if !inFence {
			out = append(out, l)
		}
	}
	return out
}

// slug is the anchor GitHub gives a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces turned into hyphens.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a page's headings, numbered as GitHub
// numbers repeated ones.
func anchors(t *testing.T, page string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range lines(t, page) {
		m := heading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		// Inline code and links in a heading keep only their text.
		text := strings.NewReplacer("`", "", "*", "").Replace(m[1])
		text = inlineLink.ReplaceAllString(text, "$1")
		s := slug(text)
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

func TestRelativeLinksResolve(t *testing.T) {
	checked := 0
	for _, page := range pages(t) {
		for _, l := range lines(t, page) {
			for _, m := range link.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				file, frag, _ := strings.Cut(target, "#")
				dest := page
				if file != "" {
					dest = filepath.Join(filepath.Dir(page), file)
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						t.Errorf("%s: link %q: no such file %s", page, target, dest)
						continue
					}
				}
				if frag == "" || !strings.HasSuffix(dest, ".md") {
					continue
				}
				if !anchors(t, dest)[frag] {
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", page, target, dest, frag)
				}
			}
		}
	}
	t.Logf("%d relative links checked", checked)
	if checked == 0 {
		t.Fatal("no relative links found: the pattern or the paths are wrong")
	}
}

func TestEveryPageIsLinkedFromTheReadme(t *testing.T) {
	linked := map[string]bool{}
	for _, l := range lines(t, "README.md") {
		for _, m := range link.FindAllStringSubmatch(l, -1) {
			file, _, _ := strings.Cut(m[1], "#")
			linked[filepath.Clean(file)] = true
		}
	}
	for _, page := range pages(t) {
		if page != "README.md" && !linked[page] {
			t.Errorf("%s is not linked from README.md", page)
		}
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"Argo CD and kstatus side by side": "argo-cd-and-kstatus-side-by-side",
		"One writer per object":            "one-writer-per-object",
		"make test: what runs":             "make-test-what-runs",
		"The team's HTTPRoute":             "the-teams-httproute",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}
