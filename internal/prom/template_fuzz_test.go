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

package prom_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/aipm-io/aipm-operator/internal/prom"
)

var promql = parser.NewParser(parser.Options{})

// benign values are what a template is first expanded with: if that
// expansion parses, the template is a valid query, and no other value may
// give it a different shape.
var benign = map[string]string{"product": "bp0", "namespace": "bn0", "version": "bv0"}

// shape is the query's syntax tree with every string value taken out: node
// types, operators, functions, label names and matcher types, in order. The
// values are returned apart, in the same order.
func shape(e parser.Expr) (skeleton []string, values []string) {
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			skeleton = append(skeleton, "selector")
			for _, m := range n.LabelMatchers {
				if m.Name == "__name__" && m.Value == n.Name {
					skeleton = append(skeleton, "name="+m.Value)
					continue
				}
				skeleton = append(skeleton, "matcher "+m.Type.String())
				values = append(values, m.Name, m.Value)
			}
		case *parser.StringLiteral:
			skeleton = append(skeleton, "string")
			values = append(values, n.Val)
		case *parser.BinaryExpr:
			skeleton = append(skeleton, "binary "+n.Op.String())
		case *parser.AggregateExpr:
			skeleton = append(skeleton, "aggregate "+n.Op.String()+" "+strings.Join(n.Grouping, ","))
		case *parser.Call:
			skeleton = append(skeleton, "call "+n.Func.Name)
		case *parser.NumberLiteral:
			skeleton = append(skeleton, fmt.Sprintf("number %v", n.Val))
		default:
			skeleton = append(skeleton, fmt.Sprintf("%T", n))
		}
		return nil
	})
	return skeleton, values
}

// FuzzExpand holds Expand to its promise: a value substituted into a query
// is one string, whatever it contains, so it can never add matchers,
// operators or series to the query a team wrote.
func FuzzExpand(f *testing.F) {
	for _, seed := range []struct{ query, product, namespace, version string }{
		{`sum(rate(requests_total{product=$product, version=$version}[5m]))`, `churn`, `ml`, `v1`},
		{`x{product=$product}`, `"} or vector(1) or x{a="`, `ml`, `v1`},
		{`x{product="$product"}`, `} or vector(1) or x{a=`, `ml`, `v1`},
		{`x{product='$product'}`, `'} or vector(1) or x{a='`, `ml`, `v1`},
		{"x{product=`$product`}", "`} or vector(1) or x{a=`", `ml`, `v1`},
		{`x{product=~".*$product.*"}`, `.*"} or vector(1) #`, `ml`, `v1`},
		{`x{product=$product} # $version`, `p`, `ml`, "\n or vector(1)"},
		{`label_replace(up, "a", $product, "b", "(.*)")`, `\`, `ml`, `v1`},
		{`x{$product="v"}`, `a`, `ml`, `v1`},
		{`$product$product`, `a`, `b`, `c`},
		{`x{a=~"$1"} $unknown $`, `a`, `b`, `c`},
		{`x{product=$product}`, "\xff\xfe", `ml`, `v1`},
		{`x{product=$product}`, "日本語\u2028", `ml`, `v1`},
	} {
		f.Add(seed.query, seed.product, seed.namespace, seed.version)
	}
	f.Fuzz(func(t *testing.T, query, product, namespace, version string) {
		hostile := map[string]string{"product": product, "namespace": namespace, "version": version}
		out := prom.Expand(query, hostile)
		if !strings.Contains(query, "$") && out != query {
			t.Fatalf("Expand changed a query without variables: %q -> %q", query, out)
		}
		if prom.Expand(query, nil) != query {
			t.Fatalf("Expand with no variables changed %q", query)
		}

		want, werr := promql.ParseExpr(prom.Expand(query, benign))
		got, gerr := promql.ParseExpr(out)
		switch {
		case werr != nil && gerr == nil:
			t.Fatalf("values made a query of a template that is not one: %q -> %q", query, out)
		case werr != nil || gerr != nil:
			return // a query that fails is Unknown, never a different query
		}
		wantShape, wantValues := shape(want)
		gotShape, gotValues := shape(got)
		if strings.Join(wantShape, "|") != strings.Join(gotShape, "|") || len(wantValues) != len(gotValues) {
			t.Fatalf("values changed the shape of %q:\n  expanded %q\n  benign   %v\n  hostile  %v", query, out, wantShape, gotShape)
		}
		// Every string in the query is the template's own or one whole value.
		byBenign := map[string]string{benign["product"]: product, benign["namespace"]: namespace, benign["version"]: version}
		for i, w := range wantValues {
			if g := gotValues[i]; g != w && g != byBenign[w] {
				t.Fatalf("string %d of %q is %q: neither the template's %q nor a whole value", i, out, g, w)
			}
		}
	})
}

// FuzzQuote checks that a quoted value reads back as itself in a matcher.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "churn", `"`, `\`, "`", "'", "\x00", "\n", "日本", "\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return // Kubernetes names and status strings are UTF-8
		}
		e, err := promql.ParseExpr(prom.Expand(`x{l=$v}`, map[string]string{"v": v}))
		if err != nil {
			t.Fatalf("quoted value %q does not parse: %v", v, err)
		}
		vs, ok := e.(*parser.VectorSelector)
		if !ok || len(vs.LabelMatchers) != 2 {
			t.Fatalf("quoted value %q made %T %v", v, e, e)
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == "l" && m.Value != v {
				t.Fatalf("quoted value %q read back as %q", v, m.Value)
			}
		}
	})
}
