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

// Package traffic moves a product's traffic between its stable and canary
// versions. Each way of doing it (replica ratio, Gateway API HTTPRoute,
// KServe) is one small implementation of Router.
package traffic

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// Target is one version traffic can go to.
type Target struct {
	// Version is the ModelVersion's name.
	Version string
	// URI is its artifact.
	URI string
	// Service serves the version, when it is not the product's own
	// Service for it (a KServe predictor's), and Port is that Service's
	// port; empty and 0 mean the product's (serving.ObjectName and
	// spec.delivery.serving.port).
	Service string
	Port    int32
}

// Router sends weight percent of a product's traffic to canary and the rest
// to stable. Outside a rollout canary is nil and weight 0.
type Router interface {
	// Route applies the split and reports whether it is in effect.
	Route(ctx context.Context, p *lifecyclev1alpha1.AIProduct, stable, canary *Target, weight int32) (inEffect bool, err error)
}

// Experiment is the live traffic a discovery experiment takes from the
// route: a share of it (Percent), the requests matching a header (Header),
// or a mirrored copy (Mirror). Service is the experiment's own Service.
type Experiment struct {
	Service string
	Percent int32
	Header  *lifecyclev1alpha1.HeaderMatch
	Mirror  bool
	// MirrorFrom names the Service whose rule mirrors to the experiment;
	// empty: the rule the product's versions are served by.
	MirrorFrom string
	// MirrorPercent of requests are mirrored; 0 means all.
	MirrorPercent int32
}

// For returns the router a product's serving spec asks for. exp is the
// running live-traffic experiment, if any; only a route can carry it.
func For(p *lifecyclev1alpha1.AIProduct, c client.Client, reader client.Reader, exp *Experiment) Router {
	s := p.Spec.Delivery.Serving
	switch {
	case s.Backend == lifecyclev1alpha1.BackendKServe:
		k := &KServe{Client: c, Reader: reader}
		if s.HTTPRoute != nil {
			k.Split = &HTTPRoute{Client: c, Reader: reader}
		}
		return k
	case s.HTTPRoute != nil:
		return &HTTPRoute{Client: c, Reader: reader, Experiment: exp}
	default:
		return ReplicaRatio{}
	}
}

// ReplicaRatio needs no mesh: the one Service selects every version's pods,
// and the replica counts (serving.Split) carry the weight.
type ReplicaRatio struct{}

// Route does nothing: the Deployments' replica counts are the split.
func (ReplicaRatio) Route(context.Context, *lifecyclev1alpha1.AIProduct, *Target, *Target, int32) (bool, error) {
	return true, nil
}

// HTTPRoute sets the backendRefs of one rule of a Gateway API HTTPRoute the
// team owns: the stable version's Service at 100-weight and the canary's at
// weight. Weights are proportional; 0 sends nothing.
type HTTPRoute struct {
	Client client.Client
	// Reader reads the route without a cache: the Gateway API CRDs are
	// optional, and an informer on a missing kind would fail the manager.
	Reader client.Reader
	// Experiment is the running live-traffic experiment, if any.
	Experiment *Experiment
}

// experimentRule names the rule the operator adds for a header-matched
// experiment, so that it finds and removes its own rule and no other.
const experimentRule = "aipm-experiment"

// Route patches the route when its backendRefs differ from the split.
func (h *HTTPRoute) Route(ctx context.Context, p *lifecyclev1alpha1.AIProduct, stable, canary *Target, weight int32) (bool, error) {
	ref := p.Spec.Delivery.Serving.HTTPRoute
	route := &gatewayv1.HTTPRoute{}
	if err := h.Reader.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: string(ref.Name)}, route); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("HTTPRoute %s not found", ref.Name)
		}
		return false, fmt.Errorf("reading HTTPRoute %s: %w", ref.Name, err)
	}
	before := route.DeepCopy()
	// The operator's own header rule is taken out before the team's rules
	// are indexed, and put back first.
	rules := make([]gatewayv1.HTTPRouteRule, 0, len(route.Spec.Rules)+1)
	for _, r := range route.Spec.Rules {
		if r.Name == nil || *r.Name != experimentRule {
			rules = append(rules, r)
		}
	}
	idx := int(ref.RuleIndex)
	if idx >= len(rules) {
		return false, fmt.Errorf("HTTPRoute %s has %d rules; ruleIndex %d does not exist", ref.Name, len(rules), idx)
	}
	rule := &rules[idx]
	// Without a version to serve (a product in Discovery that mirrors
	// another system), the team's backends stay as they are.
	if stable != nil || canary != nil {
		rule.BackendRefs = BackendRefs(p, stable, canary, weight)
	}
	for i := range rules {
		rules[i].Filters = withoutMirror(rules[i].Filters, p.Name+"-exp-")
	}
	port := p.Spec.Delivery.Serving.Port
	expRef := func() gatewayv1.BackendObjectReference {
		return gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(h.Experiment.Service), Port: &port}
	}
	if e := h.Experiment; e != nil && canary == nil {
		switch {
		case e.Mirror:
			from := rule
			if e.MirrorFrom != "" {
				if from = ruleServing(rules, e.MirrorFrom); from == nil {
					return false, fmt.Errorf("HTTPRoute %s has no rule with a backend Service %s to mirror from", ref.Name, e.MirrorFrom)
				}
			}
			mirror := &gatewayv1.HTTPRequestMirrorFilter{BackendRef: expRef()}
			if e.MirrorPercent > 0 && e.MirrorPercent < 100 {
				mirror.Percent = ptr.To(e.MirrorPercent)
			}
			from.Filters = append(from.Filters, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: mirror})
		case e.Header != nil:
			// The rule refines the team's rule: its path, method and query
			// matches, and the header. By the Gateway API's precedence (path,
			// then method, then the number of headers) it outranks the rule
			// it refines wherever that rule matches, and it matches nowhere
			// else (Compare, Refines).
			name := gatewayv1.SectionName(experimentRule)
			exact := gatewayv1.HeaderMatchExact
			rules = append([]gatewayv1.HTTPRouteRule{{
				Name: &name,
				Matches: Refine(rule.Matches, gatewayv1.HTTPHeaderMatch{
					Type: &exact, Name: gatewayv1.HTTPHeaderName(e.Header.Name), Value: e.Header.Value}),
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: expRef(), Weight: ptr.To[int32](1)}}},
			}}, rules...)
		case e.Percent > 0 && len(rule.BackendRefs) > 0:
			*rule.BackendRefs[0].Weight = 100 - e.Percent
			rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: expRef(), Weight: ptr.To(e.Percent)}})
		}
	}
	route.Spec.Rules = rules
	if equality.Semantic.DeepEqual(before.Spec.Rules, route.Spec.Rules) {
		return true, nil
	}
	if err := h.applyRules(ctx, route); err != nil {
		return false, fmt.Errorf("setting weights on HTTPRoute %s: %w", ref.Name, err)
	}
	return true, nil
}

// applyRules applies the route's rules, and nothing else of it, by
// server-side apply under the aipm-operator field manager. Gateway API
// declares rules an atomic list, so the operator owns the list as a whole
// once it has written it; hostnames, parentRefs and the rest stay the
// team's (docs/argocd.md).
func (h *HTTPRoute) applyRules(ctx context.Context, route *gatewayv1.HTTPRoute) error {
	spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&route.Spec)
	if err != nil {
		return err
	}
	want := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"rules": spec["rules"]}}}
	want.SetGroupVersionKind(schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: gatewayv1.GroupVersion.Version, Kind: "HTTPRoute"})
	want.SetNamespace(route.Namespace)
	want.SetName(route.Name)
	// Conditional on the route as read: rules are one list, and a change
	// the team made since would otherwise be overwritten. A conflict is
	// retried with the route read again.
	want.SetResourceVersion(route.ResourceVersion)
	return h.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(want), client.FieldOwner(apply.FieldOwner), client.ForceOwnership)
}

// ruleServing returns the first rule with a backend Service named service.
func ruleServing(rules []gatewayv1.HTTPRouteRule, service string) *gatewayv1.HTTPRouteRule {
	for i := range rules {
		for _, b := range rules[i].BackendRefs {
			if string(b.Name) == service && (b.Kind == nil || *b.Kind == "Service") {
				return &rules[i]
			}
		}
	}
	return nil
}

// withoutMirror drops the mirror filters the operator added (to a Service
// whose name starts with prefix) and keeps the team's own.
func withoutMirror(fs []gatewayv1.HTTPRouteFilter, prefix string) []gatewayv1.HTTPRouteFilter {
	var out []gatewayv1.HTTPRouteFilter
	for _, f := range fs {
		if f.Type == gatewayv1.HTTPRouteFilterRequestMirror && f.RequestMirror != nil &&
			strings.HasPrefix(string(f.RequestMirror.BackendRef.Name), prefix) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// BackendRefs renders the backendRefs of the split.
func BackendRefs(p *lifecyclev1alpha1.AIProduct, stable, canary *Target, weight int32) []gatewayv1.HTTPBackendRef {
	ref := func(t *Target, w int32) gatewayv1.HTTPBackendRef {
		name, port := t.Service, t.Port
		if name == "" {
			name = serving.ObjectName(p.Name, t.Version)
		}
		if port == 0 {
			port = p.Spec.Delivery.Serving.Port
		}
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: &port},
			Weight:                 ptr.To(w),
		}}
	}
	var refs []gatewayv1.HTTPBackendRef
	if stable != nil {
		w := int32(100)
		if canary != nil {
			w = 100 - weight
		}
		refs = append(refs, ref(stable, w))
	}
	if canary != nil {
		refs = append(refs, ref(canary, weight))
	}
	return refs
}
