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
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func exactPath(v string) *gatewayv1.HTTPPathMatch {
	return &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To(v)}
}

func prefix(v string) *gatewayv1.HTTPPathMatch {
	return &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(v)}
}

func header(name, value string) gatewayv1.HTTPHeaderMatch {
	return gatewayv1.HTTPHeaderMatch{Name: gatewayv1.HTTPHeaderName(name), Value: value}
}

func query(name, value string) gatewayv1.HTTPQueryParamMatch {
	return gatewayv1.HTTPQueryParamMatch{Name: gatewayv1.HTTPHeaderName(name), Value: value}
}

// The precedence of HTTPRouteRule matches, as the Gateway API specification
// lists it: "Exact" path, the longest "Prefix" path, a method, the most
// header matches, the most query param matches; past those, list order.
func TestCompareFollowsTheSpec(t *testing.T) {
	post := ptr.To(gatewayv1.HTTPMethodPost)
	for _, tt := range []struct {
		name string
		a, b gatewayv1.HTTPRouteMatch
		want int // sign
	}{
		{"an exact path before a prefix", gatewayv1.HTTPRouteMatch{Path: exactPath("/v1")}, gatewayv1.HTTPRouteMatch{Path: prefix("/v1/predict")}, 1},
		{"a longer prefix before a shorter", gatewayv1.HTTPRouteMatch{Path: prefix("/v1/predict")}, gatewayv1.HTTPRouteMatch{Path: prefix("/v1")}, 1},
		{"no path is the prefix /", gatewayv1.HTTPRouteMatch{}, gatewayv1.HTTPRouteMatch{Path: prefix("/")}, 0},
		// The defect: a header rule with no path lost to the team's
		// PathPrefix /v1/predict, whatever its place in the list.
		{"path before headers", gatewayv1.HTTPRouteMatch{Headers: []gatewayv1.HTTPHeaderMatch{header("x-beta", "true")}},
			gatewayv1.HTTPRouteMatch{Path: prefix("/v1/predict")}, -1},
		{"a method before none", gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Method: post},
			gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Headers: []gatewayv1.HTTPHeaderMatch{header("a", "1"), header("b", "2")}}, 1},
		{"path before method", gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Method: post}, gatewayv1.HTTPRouteMatch{Path: prefix("/v1/x")}, -1},
		{"more headers before fewer", gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Headers: []gatewayv1.HTTPHeaderMatch{header("a", "1"), header("b", "2")}},
			gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Headers: []gatewayv1.HTTPHeaderMatch{header("a", "1")}}, 1},
		{"headers before query params", gatewayv1.HTTPRouteMatch{Headers: []gatewayv1.HTTPHeaderMatch{header("a", "1")}},
			gatewayv1.HTTPRouteMatch{QueryParams: []gatewayv1.HTTPQueryParamMatch{query("q", "1"), query("r", "2")}}, 1},
		{"more query params before fewer", gatewayv1.HTTPRouteMatch{QueryParams: []gatewayv1.HTTPQueryParamMatch{query("q", "1")}},
			gatewayv1.HTTPRouteMatch{}, 1},
		{"a regular expression after every prefix", gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To("/v1/.*")}},
			gatewayv1.HTTPRouteMatch{Path: prefix("/")}, -1},
		{"equal: list order decides", gatewayv1.HTTPRouteMatch{Path: prefix("/v1"), Headers: []gatewayv1.HTTPHeaderMatch{header("a", "1")}},
			gatewayv1.HTTPRouteMatch{Path: prefix("/v2"), Headers: []gatewayv1.HTTPHeaderMatch{header("b", "1")}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, back := Compare(tt.a, tt.b), Compare(tt.b, tt.a)
			if sign(got) != tt.want || sign(back) != -tt.want {
				t.Errorf("Compare = %d and reversed %d, want sign %d", got, back, tt.want)
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n > 0:
		return 1
	case n < 0:
		return -1
	}
	return 0
}

// The A/B rule refines each match of the team's rule with the header: it
// outranks the match it refines, serves no path that rule does not, and a
// team rule with no matches gets a header-only rule (all paths, as the
// team's).
func TestRefineOutranksWithoutWidening(t *testing.T) {
	beta := header("x-beta", "true")
	for _, tt := range []struct {
		name string
		team []gatewayv1.HTTPRouteMatch
	}{
		{"no matches", nil},
		{"a path prefix", []gatewayv1.HTTPRouteMatch{{Path: prefix("/v1/predict")}}},
		{"an exact path and a method", []gatewayv1.HTTPRouteMatch{{Path: exactPath("/predict"), Method: ptr.To(gatewayv1.HTTPMethodPost)}}},
		{"two matches, one with a header and a query", []gatewayv1.HTTPRouteMatch{{Path: prefix("/v1")},
			{Path: prefix("/v2"), Headers: []gatewayv1.HTTPHeaderMatch{header("tenant", "a")}, QueryParams: []gatewayv1.HTTPQueryParamMatch{query("debug", "1")}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Refine(tt.team, beta)
			team := tt.team
			if len(team) == 0 {
				team = []gatewayv1.HTTPRouteMatch{{}}
			}
			if len(got) != len(team) {
				t.Fatalf("%d matches for %d", len(got), len(team))
			}
			for i := range got {
				if Compare(got[i], team[i]) <= 0 {
					t.Errorf("match %d does not outrank the team's %+v", i, team[i])
				}
				if !Refines(got[i], team[i]) {
					t.Errorf("match %d (%+v) serves requests the team's %+v does not", i, got[i], team[i])
				}
				if !containsHeader(got[i].Headers, beta) {
					t.Errorf("match %d lacks the header", i)
				}
			}
		})
	}
}

// A header-matched A/B test on a team route whose rules match paths: the
// operator's rule takes the header's requests of the rule it refines, by
// precedence and not by list order, and no other path.
func TestHeaderExperimentRefinesTheTeamsRule(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := gatewayv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "ml"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
			{Matches: []gatewayv1.HTTPRouteMatch{{Path: prefix("/v1/predict")}}},
			{Matches: []gatewayv1.HTTPRouteMatch{{Path: prefix("/")}}},
		}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(route).Build()
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "ml"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Serving: lifecyclev1alpha1.ServingSpec{
			Port: 8080, HTTPRoute: &lifecyclev1alpha1.HTTPRouteRef{Name: "shop"},
		}}},
	}
	h := &HTTPRoute{Client: c, Reader: c, Experiment: &Experiment{Service: "shop-exp-beta",
		Header: &lifecyclev1alpha1.HeaderMatch{Name: "x-beta", Value: "true"}}}
	if _, err := h.Route(context.Background(), p, &Target{Version: "v1"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	got := &gatewayv1.HTTPRoute{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(route), got); err != nil {
		t.Fatal(err)
	}
	rules := got.Spec.Rules
	if len(rules) != 3 || rules[0].Name == nil || *rules[0].Name != experimentRule {
		t.Fatalf("rules %+v, want the experiment's first", rules)
	}
	exp, team := rules[0].Matches, rules[1].Matches
	if len(exp) != 1 || !Refines(exp[0], team[0]) || Compare(exp[0], team[0]) <= 0 {
		t.Fatalf("experiment matches %+v do not refine and outrank the team's %+v", exp, team)
	}
	// The team's catch-all still outranks nothing it did not before: a
	// request to /v1/other with the header goes to the catch-all.
	if Refines(exp[0], rules[2].Matches[0]) {
		t.Errorf("the experiment's match %+v would widen the catch-all's", exp[0])
	}
	if string(rules[0].BackendRefs[0].Name) != "shop-exp-beta" {
		t.Errorf("experiment backend %s", rules[0].BackendRefs[0].Name)
	}
}
