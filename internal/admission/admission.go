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

// Package admission checks, before the API server stores them, what the
// CRD's schema and CEL rules cannot: cron schedules with the parser the
// scheduler uses, time zones against the tz database, every PromQL query
// with Prometheus' own parser after the operator's variables are filled
// in, names that must refer to something the product declares, and
// training templates as their engines' API types read them. Each error
// names its field.
package admission

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/validation/field"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/schedule"
)

// sample values stand in for the variables a query may use: a query must
// parse whatever names it is given, and these are names as admission lets
// them be.
var sample = map[string]string{"namespace": "ml", "product": "fraud-detector", "version": "fraud-detector-v1-2-0",
	"canaryVersion": "fraud-detector-v1-2-0", "stableVersion": "fraud-detector-v1-1-0"}

// query checks one PromQL query as the operator will send it.
func query(path *field.Path, q lifecyclev1alpha1.PromQL) *field.Error {
	if q == "" {
		return nil
	}
	expanded := prom.Expand(string(q), sample)
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(expanded); err != nil {
		return field.Invalid(path, string(q), "not a PromQL query Prometheus can parse: "+err.Error())
	}
	return nil
}

// Product checks an AIProduct's spec.
func Product(p *lifecyclev1alpha1.AIProduct) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	add := func(e *field.Error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	var objectives []string
	if st := p.Spec.Strategy; st != nil {
		for i, o := range st.Objectives {
			add(query(spec.Child("strategy", "objectives").Index(i).Child("query"), o.Query))
			objectives = append(objectives, o.Name)
		}
	}
	refers := func(path *field.Path, names []string) {
		for i, n := range names {
			if !slices.Contains(objectives, n) {
				errs = append(errs, field.NotFound(path.Index(i), n))
			}
		}
	}
	if d := p.Spec.Discovery; d != nil {
		for i, e := range d.Experiments {
			path := spec.Child("discovery", "experiments").Index(i)
			add(query(path.Child("sampleQuery"), e.SampleQuery))
			for j, c := range e.SuccessCriteria {
				add(query(path.Child("successCriteria").Index(j).Child("query"), c.Query))
			}
		}
	}
	d := p.Spec.Delivery
	if d == nil {
		return errs
	}
	delivery := spec.Child("delivery")
	if ro := d.Rollout; ro != nil {
		analysis := func(path *field.Path, a *lifecyclev1alpha1.AnalysisSpec) {
			for j, m := range a.Metrics {
				add(query(path.Child("metrics").Index(j).Child("query"), m.Query))
			}
			refers(path.Child("objectives"), a.Objectives)
		}
		for i, s := range ro.Steps {
			if s.Analysis != nil {
				analysis(delivery.Child("rollout", "steps").Index(i).Child("analysis"), s.Analysis)
			}
		}
		if ro.BackgroundAnalysis != nil {
			analysis(delivery.Child("rollout", "backgroundAnalysis"), ro.BackgroundAnalysis)
		}
		if pp := ro.PostPromotion; pp != nil {
			refers(delivery.Child("rollout", "postPromotion", "objectives"), pp.Objectives)
		}
	}
	if m := d.Monitoring; m != nil {
		for i, c := range m.Drift {
			path := delivery.Child("monitoring", "drift").Index(i)
			add(query(path.Child("query"), c.Query))
			if c.Histogram != nil {
				add(query(path.Child("histogram", "query"), c.Histogram.Query))
			}
		}
	}
	if r := d.Retraining; r != nil {
		path := delivery.Child("retraining")
		if r.TimeZone != nil {
			if _, err := time.LoadLocation(*r.TimeZone); err != nil || *r.TimeZone == "Local" {
				errs = append(errs, field.Invalid(path.Child("timeZone"), *r.TimeZone, "not a time zone of the tz database"))
			}
		}
		if r.Schedule != "" {
			// The zone is checked above, alone, so that a bad zone does not
			// hide a bad schedule.
			if _, err := schedule.Parse(r.Schedule, ""); err != nil {
				errs = append(errs, field.Invalid(path.Child("schedule"), r.Schedule, err.Error()))
			}
		}
		refers(path.Child("onObjectiveBreach"), r.OnObjectiveBreach)
		// A workload template is kept as written by the CRD (its engine's
		// schema would not fit in it); here it is read as the engine's own
		// API types read it, so that a typo fails now, not at the first
		// retraining.
		if tpl := backend.TemplateOf(r); tpl != nil {
			if err := backend.Validate(r.Backend, tpl, r.ResultContainer, r.ResultJob); err != nil {
				errs = append(errs, field.Invalid(path.Child(backend.TemplateField(r.Backend), "spec"), "(the template)",
					fmt.Sprintf("not a valid %s: %v", r.Backend, err)))
			}
		}
	}
	if pr := d.Promotion; pr != nil {
		path := delivery.Child("promotion")
		for i, req := range pr.Requirements {
			errs = append(errs, bounds(path.Child("requirements").Index(i), req.Min, req.Max)...)
		}
		for i, s := range pr.Slices {
			errs = append(errs, bounds(path.Child("slices").Index(i), s.Min, s.Max)...)
		}
		for i, role := range pr.Approvals {
			if p.Spec.Owners.Owner(role) == "" {
				errs = append(errs, field.Invalid(path.Child("approvals").Index(i), role,
					fmt.Sprintf("spec.owners names no %s, so no promotion could be approved", role)))
			}
		}
	}
	return errs
}

// bounds checks a floor is not above its ceiling.
func bounds(path *field.Path, lo, hi *lifecyclev1alpha1.Decimal) field.ErrorList {
	if lo == nil || hi == nil {
		return nil
	}
	l, err1 := lo.Float64()
	h, err2 := hi.Float64()
	if err1 == nil && err2 == nil && l > h {
		return field.ErrorList{field.Invalid(path.Child("min"), string(*lo), fmt.Sprintf("min is above max (%s): no value could pass", *hi))}
	}
	return nil
}

// Version checks a ModelVersion's spec.
func Version(mv *lifecyclev1alpha1.ModelVersion) field.ErrorList {
	var errs field.ErrorList
	if l := mv.Spec.Lineage; l != nil && l.Dataset != nil && l.Dataset.Window != nil {
		w := l.Dataset.Window
		if w.End.Before(&w.Start) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "lineage", "dataset", "window", "end"), w.End.UTC().Format(time.RFC3339),
				"the window ends before it starts"))
		}
	}
	return errs
}
