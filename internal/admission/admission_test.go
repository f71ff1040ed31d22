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

package admission

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func dec(s string) *lifecyclev1alpha1.Decimal { d := lifecyclev1alpha1.Decimal(s); return &d }

// valid is a product using every field the webhook checks.
func valid() *lifecyclev1alpha1.AIProduct {
	analysis := &lifecyclev1alpha1.AnalysisSpec{
		Metrics:    []lifecyclev1alpha1.MetricCheck{{Name: "errors", Query: `sum(rate(errors{version=$version}[5m])) / sum(rate(requests{version=$version}[5m]))`}},
		Objectives: []string{"conversion"},
	}
	return &lifecyclev1alpha1.AIProduct{Spec: lifecyclev1alpha1.AIProductSpec{
		Owners: lifecyclev1alpha1.Owners{ProductManager: "ana", TechLead: "lars"},
		Strategy: &lifecyclev1alpha1.StrategySpec{Objectives: []lifecyclev1alpha1.Objective{
			{Name: "conversion", Query: `sum(rate(conversions{product=$product, version=$version}[1h])) / sum(rate(requests{product=$product}[1h]))`},
			{Name: "ctr", Query: `max(ctr{namespace=$namespace})`},
		}},
		Discovery: &lifecyclev1alpha1.DiscoverySpec{Experiments: []lifecyclev1alpha1.DiscoveryExperiment{{
			Name: "ab", SampleQuery: `sum(requests{version=$version})`,
			SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{{Name: "ctr", Query: `avg_over_time(ctr{version=$version}[10m])`}},
		}}},
		Delivery: &lifecyclev1alpha1.DeliverySpec{
			Rollout: &lifecyclev1alpha1.RolloutSpec{
				Steps:              []lifecyclev1alpha1.RolloutStep{{SetWeight: ptr.To[int32](10)}, {Analysis: analysis}},
				BackgroundAnalysis: analysis.DeepCopy(),
				PostPromotion:      &lifecyclev1alpha1.PostPromotionSpec{Objectives: []string{"conversion"}},
			},
			Monitoring: &lifecyclev1alpha1.MonitoringSpec{Drift: []lifecyclev1alpha1.DriftCheck{
				{Name: "psi", Query: `max(psi{version=$version, feature="age"})`},
				{Name: "hist", Histogram: &lifecyclev1alpha1.HistogramDrift{Query: `sum by (le) (increase(age_bucket{version=$version}[1h]))`}},
			}},
			Retraining: &lifecyclev1alpha1.RetrainingSpec{Schedule: "30 2 * * 1-5", TimeZone: ptr.To("Europe/Berlin"),
				OnObjectiveBreach: []string{"ctr"}},
			Promotion: &lifecyclev1alpha1.PromotionSpec{
				Requirements: []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: dec("0.8"), Max: dec("1")}},
				Slices:       []lifecyclev1alpha1.SliceRequirement{{Metric: "recall", By: "group", Min: dec("0.7"), Max: dec("0.99")}},
				Approvals:    []lifecyclev1alpha1.Role{lifecyclev1alpha1.RoleProductManager, lifecyclev1alpha1.RoleTechLead},
			},
		},
	}}
}

func TestValidProduct(t *testing.T) {
	if errs := Product(valid()); len(errs) > 0 {
		t.Fatalf("the valid product is refused: %v", errs)
	}
	if errs := Product(&lifecyclev1alpha1.AIProduct{}); len(errs) > 0 {
		t.Fatalf("an empty spec is refused: %v", errs)
	}
}

func TestProductRefusals(t *testing.T) {
	type mutate func(*lifecyclev1alpha1.AIProduct)
	strategy := func(i int, q string) mutate {
		return func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Strategy.Objectives[i].Query = lifecyclev1alpha1.PromQL(q)
		}
	}
	schedule := func(s string) mutate {
		return func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Retraining.Schedule = s }
	}
	tests := []struct {
		name    string
		mutate  mutate
		field   string
		message string
	}{
		// Cron fields out of range, parsed as the scheduler parses them.
		{"minute 61", schedule("61 2 * * *"), "spec.delivery.retraining.schedule", "end of range (61) above maximum (59)"},
		{"minute -1", schedule("-1 2 * * *"), "spec.delivery.retraining.schedule", "invalid schedule"},
		{"hour 25", schedule("0 25 * * *"), "spec.delivery.retraining.schedule", "above maximum (23)"},
		{"day of month 32", schedule("0 2 32 * *"), "spec.delivery.retraining.schedule", "above maximum (31)"},
		{"day of month 0", schedule("0 2 0 * *"), "spec.delivery.retraining.schedule", "below minimum (1)"},
		{"month 13", schedule("0 2 1 13 *"), "spec.delivery.retraining.schedule", "above maximum (12)"},
		{"weekday 9", schedule("0 2 * * 9"), "spec.delivery.retraining.schedule", "above maximum (6)"},
		{"a range backwards", schedule("0 2 * * 5-1"), "spec.delivery.retraining.schedule", "beyond end of range"},
		{"a step of zero", schedule("*/0 2 * * *"), "spec.delivery.retraining.schedule", "step of range should be a positive number"},
		{"a month by a wrong name", schedule("0 2 1 Foo *"), "spec.delivery.retraining.schedule", "failed to parse"},
		{"an unknown macro", schedule("@fortnightly"), "spec.delivery.retraining.schedule", "unrecognized descriptor"},
		{"@every", schedule("@every 1h"), "spec.delivery.retraining.schedule", "@every is not a cron schedule"},
		{"six fields", schedule("0 0 2 * * *"), "spec.delivery.retraining.schedule", "expected exactly 5 fields"},
		{"a time zone in the schedule", schedule("TZ=UTC 0 2 * * *"), "spec.delivery.retraining.schedule", "set the time zone in timeZone"},
		// Time zones, loaded from the tz database.
		{"an unknown zone", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Retraining.TimeZone = ptr.To("Europe/Atlantis") },
			"spec.delivery.retraining.timeZone", "not a time zone of the tz database"},
		{"a zone by a wrong case", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Retraining.TimeZone = ptr.To("europe/berlin") },
			"spec.delivery.retraining.timeZone", "not a time zone of the tz database"},
		{"Local", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Retraining.TimeZone = ptr.To("Local") },
			"spec.delivery.retraining.timeZone", "not a time zone of the tz database"},
		// PromQL, parsed by Prometheus after the variables are filled in.
		{"an unbalanced brace", strategy(0, `sum(rate(conversions{product=$product[1h]))`), "spec.strategy.objectives[0].query", "not a PromQL query"},
		{"an unbalanced parenthesis", strategy(0, `sum(rate(conversions[1h])`), "spec.strategy.objectives[0].query", "unclosed left parenthesis"},
		{"a closing parenthesis too many", strategy(1, `max(ctr))`), "spec.strategy.objectives[1].query", "unexpected right parenthesis"},
		{"an unknown function", strategy(1, `maximum(ctr)`), "spec.strategy.objectives[1].query", "unknown function"},
		{"a variable quoted by hand", strategy(1, `max(ctr{product="$product})`), "spec.strategy.objectives[1].query", "not a PromQL query"},
		{"a range without a duration", strategy(1, `rate(ctr[])`), "spec.strategy.objectives[1].query", "not a PromQL query"},
		{"a bad duration", strategy(1, `rate(ctr[5x])`), "spec.strategy.objectives[1].query", "not a PromQL query"},
		{"an unterminated string", strategy(1, `ctr{a="b}`), "spec.strategy.objectives[1].query", "unterminated quoted string"},
		{"a binary operator with nothing after it", strategy(1, `ctr /`), "spec.strategy.objectives[1].query", "not a PromQL query"},
		{"rate of an instant vector", strategy(1, `rate(ctr)`), "spec.strategy.objectives[1].query", "expected type range vector"},
		{"a sample query", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Discovery.Experiments[0].SampleQuery = "sum(requests" },
			"spec.discovery.experiments[0].sampleQuery", "not a PromQL query"},
		{"a success criterion", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Discovery.Experiments[0].SuccessCriteria[0].Query = "ctr{"
		},
			"spec.discovery.experiments[0].successCriteria[0].query", "not a PromQL query"},
		{"an analysis metric", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Rollout.Steps[1].Analysis.Metrics[0].Query = "errors)"
		},
			"spec.delivery.rollout.steps[1].analysis.metrics[0].query", "not a PromQL query"},
		{"a background analysis metric", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Rollout.BackgroundAnalysis.Metrics[0].Query = "{}"
		},
			"spec.delivery.rollout.backgroundAnalysis.metrics[0].query", "not a PromQL query"},
		{"a drift query", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Monitoring.Drift[0].Query = "max(psi" },
			"spec.delivery.monitoring.drift[0].query", "not a PromQL query"},
		{"a histogram query", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Monitoring.Drift[1].Histogram.Query = "sum by (le (x)"
		},
			"spec.delivery.monitoring.drift[1].histogram.query", "not a PromQL query"},
		// Floors and ceilings.
		{"a requirement's min above its max", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Promotion.Requirements[0].Min = dec("1.5") },
			"spec.delivery.promotion.requirements[0].min", "min is above max (1)"},
		{"a slice's floor above its ceiling", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery.Promotion.Slices[0].Max = dec("0.5") },
			"spec.delivery.promotion.slices[0].min", "min is above max (0.5)"},
		// References to names the product declares.
		{"an analysis guarding an objective that is not declared", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Rollout.Steps[1].Analysis.Objectives = []string{"revenue"}
		}, "spec.delivery.rollout.steps[1].analysis.objectives[0]", `Not found: "revenue"`},
		{"a background analysis guarding one", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Rollout.BackgroundAnalysis.Objectives = []string{"conversion", "nps"}
		}, "spec.delivery.rollout.backgroundAnalysis.objectives[1]", `Not found: "nps"`},
		{"a post-promotion watch of one", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Rollout.PostPromotion.Objectives = []string{"churn"}
		}, "spec.delivery.rollout.postPromotion.objectives[0]", `Not found: "churn"`},
		{"a retraining trigger on one", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Retraining.OnObjectiveBreach = []string{"ctr", "latency"}
		}, "spec.delivery.retraining.onObjectiveBreach[1]", `Not found: "latency"`},
		{"a guard when the product declares no objectives", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Strategy = nil },
			"spec.delivery.rollout.steps[1].analysis.objectives[0]", `Not found: "conversion"`},
		{"an approval by a role nobody holds", func(p *lifecyclev1alpha1.AIProduct) {
			p.Spec.Delivery.Promotion.Approvals = []lifecyclev1alpha1.Role{lifecyclev1alpha1.RoleDesigner}
		}, "spec.delivery.promotion.approvals[0]", "spec.owners names no Designer"},
		{"an approval by the tech lead, when there is none", func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Owners.TechLead = "" },
			"spec.delivery.promotion.approvals[1]", "spec.owners names no TechLead"},
	}
	// Training templates, read as the engines' own API types read them.
	trainJob := func(spec string) mutate {
		return func(p *lifecyclev1alpha1.AIProduct) {
			r := p.Spec.Delivery.Retraining
			r.Backend, r.Template = lifecyclev1alpha1.BackendTrainJob, nil
			r.TrainJob = &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(spec)}}
		}
	}
	jobSet := func(spec string) mutate {
		return func(p *lifecyclev1alpha1.AIProduct) {
			r := p.Spec.Delivery.Retraining
			r.Backend, r.Template = lifecyclev1alpha1.BackendJobSet, nil
			r.JobSet = &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(spec)}}
		}
	}
	rayJob := func(spec string) mutate {
		return func(p *lifecyclev1alpha1.AIProduct) {
			r := p.Spec.Delivery.Retraining
			r.Backend, r.Template = lifecyclev1alpha1.BackendRayJob, nil
			r.RayJob = &lifecyclev1alpha1.WorkloadTemplate{Spec: runtime.RawExtension{Raw: []byte(spec)}}
		}
	}
	const pod = `{"spec":{"containers":[{"name":"train","image":"t:1"}]}}`
	tests = append(tests, []struct {
		name    string
		mutate  mutate
		field   string
		message string
	}{
		{"a TrainJob field misspelt", trainJob(`{"runtimeRef":{"name":"torch"},"trainer":{"numNode":2}}`),
			"spec.delivery.retraining.trainJob.spec", `unknown field "trainer.numNode"`},
		{"a TrainJob without a runtime", trainJob(`{"trainer":{"image":"t:1"}}`),
			"spec.delivery.retraining.trainJob.spec", "runtimeRef.name: required"},
		{"a TrainJob's nodes as a string", trainJob(`{"runtimeRef":{"name":"torch"},"trainer":{"numNodes":"two"}}`),
			"spec.delivery.retraining.trainJob.spec", "numNodes"},
		{"a TrainJob on a runtime of another kind", trainJob(`{"runtimeRef":{"name":"torch","kind":"Deployment"}}`),
			"spec.delivery.retraining.trainJob.spec", "not a training runtime"},
		{"a JobSet without replicated jobs", jobSet(`{"replicatedJobs":[]}`),
			"spec.delivery.retraining.jobSet.spec", "at least one replicated job"},
		{"a JobSet whose result job is not one of its jobs", func(p *lifecyclev1alpha1.AIProduct) {
			jobSet(`{"replicatedJobs":[{"name":"workers","replicas":1,"template":{"spec":{"template":` + pod + `}}}]}`)(p)
			p.Spec.Delivery.Retraining.ResultJob = "driver"
		}, "spec.delivery.retraining.jobSet.spec", `resultJob "driver" is not a replicated job`},
		{"a JobSet whose result container is not in the pod", func(p *lifecyclev1alpha1.AIProduct) {
			jobSet(`{"replicatedJobs":[{"name":"workers","replicas":1,"template":{"spec":{"template":` + pod + `}}}]}`)(p)
			p.Spec.Delivery.Retraining.ResultContainer = "report"
		}, "spec.delivery.retraining.jobSet.spec", `resultContainer "report" is not a container`},
		{"a JobSet with a field of a Deployment", jobSet(`{"replicas":3}`),
			"spec.delivery.retraining.jobSet.spec", `unknown field "replicas"`},
		{"a RayJob on a running cluster", rayJob(`{"entrypoint":"python train.py","clusterSelector":{"ray.io/cluster":"shared"},"submitterPodTemplate":` + pod + `}`),
			"spec.delivery.retraining.rayJob.spec", "clusterSelector: not supported"},
		{"a RayJob without a submitter", rayJob(`{"entrypoint":"python train.py","rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":` + pod + `}}}`),
			"spec.delivery.retraining.rayJob.spec", "submitterPodTemplate: required"},
		{"a RayJob submitted over HTTP", rayJob(`{"entrypoint":"python train.py","submissionMode":"HTTPMode","rayClusterSpec":{"headGroupSpec":{"rayStartParams":{},"template":` + pod + `}},"submitterPodTemplate":` + pod + `}`),
			"spec.delivery.retraining.rayJob.spec", "HTTPMode is not supported"},
	}...)
	if len(tests) < 40 {
		t.Fatalf("%d cases; the admission table keeps at least 40", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.mutate(p)
			errs := Product(p)
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Error(), tt.message) {
					return
				}
			}
			t.Fatalf("errors %v; want one on %s saying %q", errs, tt.field, tt.message)
		})
	}
}

func TestVersion(t *testing.T) {
	mv := &lifecyclev1alpha1.ModelVersion{Spec: lifecyclev1alpha1.ModelVersionSpec{Lineage: &lifecyclev1alpha1.Lineage{
		Dataset: &lifecyclev1alpha1.Dataset{Window: &lifecyclev1alpha1.TimeWindow{
			Start: metav1.NewTime(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)), End: metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))}}}}}
	errs := Version(mv)
	if len(errs) != 1 || errs[0].Field != "spec.lineage.dataset.window.end" {
		t.Fatalf("errors %v; want one on spec.lineage.dataset.window.end", errs)
	}
}
