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

package traffic

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Compare ranks two matches of rules of one HTTPRoute that both match a
// request, as the Gateway API specifies (HTTPRouteRule, "matches"): an Exact
// path before a prefix, a longer prefix before a shorter one, a method
// match before none, more header matches before fewer, more query matches
// before fewer. It returns >0 when a wins, <0 when b does, and 0 when only
// the rules' order in the list decides.
//
// A regular-expression path is ranked by each implementation as it likes;
// Compare puts it after every prefix, so that the operator never counts on
// one to win.
func Compare(a, b gatewayv1.HTTPRouteMatch) int {
	if c := pathRank(a) - pathRank(b); c != 0 {
		return c
	}
	if ta, tb := pathType(a), pathType(b); ta == gatewayv1.PathMatchPathPrefix && tb == gatewayv1.PathMatchPathPrefix {
		if c := len(pathValue(a)) - len(pathValue(b)); c != 0 {
			return c
		}
	}
	if c := boolRank(a.Method != nil) - boolRank(b.Method != nil); c != 0 {
		return c
	}
	if c := len(a.Headers) - len(b.Headers); c != 0 {
		return c
	}
	return len(a.QueryParams) - len(b.QueryParams)
}

// Refines reports whether every request narrow matches, wide matches too:
// narrow has wide's path, method, headers and query matches, and more. A
// rule of refinements never serves a path its original does not.
func Refines(narrow, wide gatewayv1.HTTPRouteMatch) bool {
	if pathType(narrow) != pathType(wide) || pathValue(narrow) != pathValue(wide) {
		return false
	}
	if (wide.Method != nil) && (narrow.Method == nil || *narrow.Method != *wide.Method) {
		return false
	}
	for _, h := range wide.Headers {
		if !containsHeader(narrow.Headers, h) {
			return false
		}
	}
	for _, q := range wide.QueryParams {
		if !containsQuery(narrow.QueryParams, q) {
			return false
		}
	}
	return true
}

// Refine returns the matches of a rule that takes from rule the requests
// that also carry header: each of rule's matches with header added, or the
// header alone when rule matches every request.
func Refine(rule []gatewayv1.HTTPRouteMatch, header gatewayv1.HTTPHeaderMatch) []gatewayv1.HTTPRouteMatch {
	if len(rule) == 0 {
		return []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{header}}}
	}
	out := make([]gatewayv1.HTTPRouteMatch, 0, len(rule))
	for _, m := range rule {
		r := *m.DeepCopy()
		r.Headers = append(r.Headers, header)
		out = append(out, r)
	}
	return out
}

// pathType is the match's path type; a match without a path matches every
// path as the prefix "/".
func pathType(m gatewayv1.HTTPRouteMatch) gatewayv1.PathMatchType {
	if m.Path == nil || m.Path.Type == nil {
		return gatewayv1.PathMatchPathPrefix
	}
	return *m.Path.Type
}

func pathValue(m gatewayv1.HTTPRouteMatch) string {
	if m.Path == nil || m.Path.Value == nil {
		return "/"
	}
	return *m.Path.Value
}

func pathRank(m gatewayv1.HTTPRouteMatch) int {
	switch pathType(m) {
	case gatewayv1.PathMatchExact:
		return 2
	case gatewayv1.PathMatchPathPrefix:
		return 1
	}
	return 0
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func containsHeader(hs []gatewayv1.HTTPHeaderMatch, h gatewayv1.HTTPHeaderMatch) bool {
	for _, x := range hs {
		if x.Name == h.Name && x.Value == h.Value && headerType(x) == headerType(h) {
			return true
		}
	}
	return false
}

func headerType(h gatewayv1.HTTPHeaderMatch) gatewayv1.HeaderMatchType {
	if h.Type == nil {
		return gatewayv1.HeaderMatchExact
	}
	return *h.Type
}

func containsQuery(qs []gatewayv1.HTTPQueryParamMatch, q gatewayv1.HTTPQueryParamMatch) bool {
	for _, x := range qs {
		if x.Name == q.Name && x.Value == q.Value && queryType(x) == queryType(q) {
			return true
		}
	}
	return false
}

func queryType(q gatewayv1.HTTPQueryParamMatch) gatewayv1.QueryParamMatchType {
	if q.Type == nil {
		return gatewayv1.QueryParamMatchExact
	}
	return *q.Type
}
