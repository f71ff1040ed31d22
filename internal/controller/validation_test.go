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

package controller

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// validProduct is a product with every part of the spec filled in; each bad
// case breaks exactly one rule of it.
const validProduct = `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata:
  name: churn
spec:
  phase: Delivery
  owners: {productManager: ana, dataScientist: bo, techLead: cy, designer: di}
  strategy:
    vision: Keep customers.
    prioritization:
    - {name: scoring, priority: Must}
    assessment:
      value: {rating: High}
      usability: {rating: Medium}
      feasibility: {rating: High}
      viability: {rating: Low}
    objectives:
    - {name: retention, query: 'sum(retained{product=$product})', target: "0.9", direction: AtLeast}
    evaluationInterval: 30s
  discovery:
    risks:
    - {name: bias, severity: High, status: Mitigated, mitigation: fairness review}
    experiments:
    - name: shadow-v2
      type: ABTest
      modelVersion: churn-v2
      duration: 1h
      interval: 1m
      trafficPercent: 10
      successCriteria:
      - {name: ctr, query: 'ctr{version=$version}', threshold: "0.05", direction: AtLeast, compareToControl: true}
  delivery:
    modelVersion: {name: churn-v1}
    serving:
      replicas: 2
      template:
        spec:
          containers:
          - {name: server, image: example.com/server:1}
    rollout:
      steps:
      - setWeight: 20
      - pause: {duration: 1m}
      - analysis:
          metrics:
          - {name: errors, query: 'err{version=$version}', threshold: "0.01", direction: AtMost}
          objectives: [retention]
          maxObjectiveDegradation: "0.1"
          count: 3
          failureLimit: 1
      - pause: {}
      postPromotion: {window: 1h, objectives: [retention]}
    monitoring:
      drift:
      - {name: age, feature: age, query: 'psi{feature="age"}', threshold: "0.2", statistic: PSI, for: 10m}
      - {name: pred, query: 'ks_p', threshold: "0.05", statistic: KS}
      - name: tenure
        feature: tenure
        histogram: {query: 'sum by (le) (increase(tenure_bucket[1h]))', reference: {offset: 168h}}
        threshold: "0.1"
        statistic: KS
    evaluation:
      dataset: {uri: "s3://data/churn/holdout"}
      timeout: 20m
      template:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: evaluator, image: example.com/evaluator:1}
    retraining:
      schedule: "0 3 * * 1"
      timeZone: Europe/Berlin
      onDrift: true
      onObjectiveBreach: [retention]
      cooldown: 2h
      template:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - {name: trainer, image: example.com/trainer:1}
    promotion:
      requirements:
      - {metric: auc, min: "0.8"}
      - {metric: dpd, max: "0.1"}
      mustBeatProduction:
      - {metric: auc, better: Higher, minImprovement: "0.01"}
      slices:
      - {metric: selection_rate, by: group, minRatio: "0.8"}
      - {metric: recall, by: group, min: "0.7", max: "0.99", maxGap: "0.05"}
`

const validVersion = `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: ModelVersion
metadata:
  name: churn-v1
spec:
  product: churn
  version: 1.0.0
  artifact: {uri: "s3://models/churn/1.0.0", format: XGBoost, digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
  lineage: {trigger: Manual, dataset: {uri: "s3://data/churn/2026-11", window: {start: "2026-11-01T00:00:00Z", end: "2026-11-30T00:00:00Z"}}}
  metrics:
  - {name: auc, value: "0.86"}
  - {name: recall, value: "0.8", slice: {group: under_30}}
  - {name: recall, value: "0.78", slice: {group: age_60_plus}}
`

// badCase breaks one rule: it sets value at path (nil deletes), and expects
// a rejection that names field and, where set, says message.
type badCase struct {
	base    string
	path    string
	value   any
	field   string
	message string
}

func parse(doc string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	ExpectWithOffset(1, yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
	return u
}

// setPath sets a dotted path whose numeric parts index lists.
func setPath(obj map[string]any, path string, value any) {
	parts := strings.Split(path, ".")
	var cur any = obj
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if value == nil {
					delete(c, p)
				} else {
					c[p] = value
				}
				return
			}
			if _, ok := c[p]; !ok {
				c[p] = map[string]any{}
			}
			cur = c[p]
		case []any:
			var idx int
			_, err := fmt.Sscanf(p, "%d", &idx)
			ExpectWithOffset(2, err).NotTo(HaveOccurred(), path)
			if last {
				c[idx] = value
				return
			}
			cur = c[idx]
		default:
			Fail("path " + path + " does not exist")
		}
	}
}

var _ = Describe("Admission", func() {
	const ns = "default"

	prodCases := []badCase{
		{validProduct, "spec.phase", "Production", "spec.phase", "Unsupported value"},
		{validProduct, "spec.description", strings.Repeat("x", 1025), "spec.description", "Too long"},
		{validProduct, "spec.owners.productManager", strings.Repeat("p", 300), "spec.owners.productManager", "Too long"},
		{validProduct, "spec.strategy.objectives.0.direction", "Above", "spec.strategy.objectives[0].direction", "Unsupported value"},
		{validProduct, "spec.strategy.objectives.0.target", "high", "spec.strategy.objectives[0].target", "should match"},
		{validProduct, "spec.strategy.objectives.0.query", "", "spec.strategy.objectives[0].query", ""},
		{validProduct, "spec.strategy.objectives.0.name", "Bad Name", "spec.strategy.objectives[0].name", "should match"},
		{validProduct, "spec.strategy.objectives", []any{
			map[string]any{"name": "a", "query": "x", "target": "1", "direction": "AtLeast"},
			map[string]any{"name": "a", "query": "y", "target": "2", "direction": "AtMost"}},
			"spec.strategy.objectives[1]", "Duplicate value"},
		{validProduct, "spec.strategy.evaluationInterval", "1s", "spec.strategy.evaluationInterval", "between 5s and 24h"},
		{validProduct, "spec.strategy.evaluationInterval", "soon", "spec.strategy.evaluationInterval", "should match"},
		{validProduct, "spec.strategy.assessment.value.rating", "Great", "spec.strategy.assessment.value.rating", "Unsupported value"},
		{validProduct, "spec.strategy.assessment.usability", map[string]any{"evidence": "interviews"}, "spec.strategy.assessment.usability.rating", "Required value"},
		{validProduct, "spec.strategy.prioritization.0.priority", "Maybe", "spec.strategy.prioritization[0].priority", "Unsupported value"},
		{validProduct, "spec.discovery.risks.0.severity", "Huge", "spec.discovery.risks[0].severity", "Unsupported value"},
		{validProduct, "spec.discovery.risks.0.mitigation", nil, "spec.discovery.risks[0]", "a Mitigated risk needs a mitigation"},
		{validProduct, "spec.discovery.risks.0.status", "Ignored", "spec.discovery.risks[0].status", "Unsupported value"},
		{validProduct, "spec.discovery.experiments.0.type", "Canary", "spec.discovery.experiments[0].type", "Unsupported value"},
		{validProduct, "spec.discovery.experiments.0.trafficPercent", nil, "spec.discovery.experiments[0]", "trafficPercent is required for an ABTest experiment"},
		{validProduct, "spec.discovery.experiments.0.type", "Sandbox", "spec.discovery.experiments[0]", "trafficPercent applies only to ABTest experiments"},
		{validProduct, "spec.discovery.experiments.0.trafficPercent", 100, "spec.discovery.experiments[0].trafficPercent", "less than or equal to 99"},
		{validProduct, "spec.discovery.experiments.0.duration", "5s", "spec.discovery.experiments[0].duration", "duration must be between 10s and 90 days"},
		{validProduct, "spec.discovery.experiments.0.interval", "2h", "spec.discovery.experiments[0]", "interval must not be longer than duration"},
		{validProduct, "spec.discovery.experiments.0.successCriteria", nil, "spec.discovery.experiments[0].successCriteria", "Required value"},
		{validProduct, "spec.discovery.experiments.0.modelVersion", "Not_A_Name", "spec.discovery.experiments[0].modelVersion", "should match"},
		{validProduct, "spec.delivery", nil, "spec", "spec.delivery is required when spec.phase is Delivery"},
		{validProduct, "spec.delivery.modelVersion", map[string]any{"policy": "Pinned"}, "spec.delivery.modelVersion", "name is required when policy is Pinned"},
		{validProduct, "spec.delivery.modelVersion.policy", "LatestEligible", "spec.delivery.modelVersion", "name must not be set when policy is LatestEligible"},
		{validProduct, "spec.delivery.modelVersion.policy", "Newest", "spec.delivery.modelVersion.policy", "Unsupported value"},
		{validProduct, "spec.delivery.serving.replicas", 0, "spec.delivery.serving.replicas", "greater than or equal to 1"},
		{validProduct, "spec.delivery.serving.port", 70000, "spec.delivery.serving.port", "less than or equal to 65535"},
		{validProduct, "spec.delivery.serving.backend", "KServe", "spec.delivery.serving", "inferenceService is required when backend is KServe"},
		{validProduct, "spec.delivery.serving.template", nil, "spec.delivery.serving", "template is required when backend is Deployment"},
		{validProduct, "spec.delivery.serving.modelURIEnv", "MODEL-URI", "spec.delivery.serving.modelURIEnv", "should match"},
		{validProduct, "spec.delivery.rollout.steps.0.pause", map[string]any{}, "spec.delivery.rollout.steps[0]", "a step sets exactly one of setWeight, pause or analysis"},
		{validProduct, "spec.delivery.rollout.steps.1", map[string]any{}, "spec.delivery.rollout.steps[1]", "a step sets exactly one of setWeight, pause or analysis"},
		{validProduct, "spec.delivery.rollout.steps.0.setWeight", 150, "spec.delivery.rollout.steps[0].setWeight", "less than or equal to 100"},
		{validProduct, "spec.delivery.rollout.steps.0.setWeight", -1, "spec.delivery.rollout.steps[0].setWeight", "greater than or equal to 0"},
		{validProduct, "spec.delivery.rollout.steps", []any{}, "spec.delivery.rollout.steps", "should have at least 1 items"},
		{validProduct, "spec.delivery.rollout.steps.2.analysis.failureLimit", 3, "spec.delivery.rollout.steps[2].analysis", "failureLimit must be less than count"},
		{validProduct, "spec.delivery.rollout.steps.2.analysis", map[string]any{"metrics": []any{}, "objectives": []any{}}, "spec.delivery.rollout.steps[2].analysis", "an analysis needs metrics, objectives, or both"},
		{validProduct, "spec.delivery.rollout.steps.2.analysis.maxObjectiveDegradation", "ten percent", "spec.delivery.rollout.steps[2].analysis.maxObjectiveDegradation", "should match"},
		{validProduct, "spec.delivery.rollout.postPromotion.objectives", []any{}, "spec.delivery.rollout.postPromotion.objectives", "should have at least 1 items"},
		{validProduct, "spec.delivery.rollout.postPromotion.window", "0s", "spec.delivery.rollout.postPromotion.window", "window must be between 1s and 168h"},
		{validProduct, "spec.strategy.objectives.0.breachFor", "1000h", "spec.strategy.objectives[0].breachFor", "breachFor must be at most 720h"},
		{validProduct, "spec.delivery.rollout.steps.2.analysis.metrics.0.threshold", "NaN", "spec.delivery.rollout.steps[2].analysis.metrics[0].threshold", "should match"},
		{validProduct, "spec.delivery.rollout.steps.2.analysis.interval", "48h", "spec.delivery.rollout.steps[2].analysis.interval", "interval must be between 1s and 24h"},
		{validProduct, "spec.delivery.rollout.steps.1.pause.duration", "0s", "spec.delivery.rollout.steps[1].pause.duration", "pause duration must be above 0"},
		{validProduct, "spec.delivery.monitoring.drift.0.statistic", "Cosine", "spec.delivery.monitoring.drift[0].statistic", "Unsupported value"},
		{validProduct, "spec.delivery.monitoring.drift.0.statistic", "Other", "spec.delivery.monitoring.drift[0]", "kind is required when statistic is Other"},
		{validProduct, "spec.delivery.monitoring.drift.1.kind", "Distance", "spec.delivery.monitoring.drift[1]", "kind contradicts statistic"},
		{validProduct, "spec.delivery.monitoring.drift.0.threshold", nil, "spec.delivery.monitoring.drift[0].threshold", "Required value"},
		{validProduct, "spec.delivery.monitoring.drift.0.query", nil, "spec.delivery.monitoring.drift[0]", "a drift check has either query (the statistic) or histogram"},
		{validProduct, "spec.delivery.monitoring.drift.2.query", "psi", "spec.delivery.monitoring.drift[2]", "a drift check has either query (the statistic) or histogram"},
		{validProduct, "spec.delivery.monitoring.drift.2.statistic", "KL", "spec.delivery.monitoring.drift[2]", "the operator computes PSI, JensenShannon and KS from a histogram"},
		{validProduct, "spec.delivery.monitoring.drift.2.kind", "PValue", "spec.delivery.monitoring.drift[2]", "a statistic computed from a histogram is a Distance"},
		{validProduct, "spec.delivery.monitoring.drift.2.histogram.reference.offset", nil, "spec.delivery.monitoring.drift[2].histogram.reference", "a reference is either offset or trainingWindow"},
		{validProduct, "spec.delivery.monitoring.drift.2.histogram.reference.trainingWindow", true, "spec.delivery.monitoring.drift[2].histogram.reference", "a reference is either offset or trainingWindow"},
		{validProduct, "spec.delivery.monitoring.drift.2.histogram.reference.offset", "0s", "spec.delivery.monitoring.drift[2].histogram.reference.offset", "offset must be between 1s and 8760h"},
		{validProduct, "spec.delivery.monitoring.drift.2.matchLabels", map[string]any{"product": "$product"}, "spec.delivery.monitoring.drift[2]", "matchLabels applies to query, not histogram"},
		{validProduct, "spec.delivery.monitoring.drift.0.for", "-5m", "spec.delivery.monitoring.drift[0].for", "should match"},
		{validProduct, "spec.strategy.objectives.0.matchLabels", map[string]any{"product": "$version"}, "spec.strategy.objectives[0].matchLabels", "matchLabels values may use $namespace and $product only"},
		{validProduct, "spec.strategy.objectives.0.matchLabels", map[string]any{"product-name": "$product"}, "spec.strategy.objectives[0].matchLabels", "matchLabels keys must be Prometheus label names"},
		{validProduct, "spec.strategy.objectives.0.matchLabels", map[string]any{"product": ""}, "spec.strategy.objectives[0].matchLabels", "matchLabels values must be 1 to 253 characters"},
		{validProduct, "spec.strategy.objectives.0.matchLabels", map[string]any{}, "spec.strategy.objectives[0].matchLabels", "should have at least 1 properties"},
		{validProduct, "spec.delivery.monitoring.drift.0.matchLabels", map[string]any{"version": "$stableVersion"}, "spec.delivery.monitoring.drift[0].matchLabels", "matchLabels values may use $namespace, $product and $version only"},
		{validProduct, "spec.delivery.monitoring.drift.0.matchLabels", map[string]any{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1", "g": "1", "h": "1", "i": "1"}, "spec.delivery.monitoring.drift[0].matchLabels", "must have at most 8 items"},
		{validProduct, "spec.delivery.monitoring.drift.0.matchLabels", map[string]any{"version": strings.Repeat("v", 254)}, "spec.delivery.monitoring.drift[0].matchLabels", "matchLabels values must be 1 to 253 characters"},
		{validProduct, "spec.delivery.retraining.schedule", "every day", "spec.delivery.retraining.schedule", "should match"},
		{validProduct, "spec.delivery.retraining.schedule", "* * *", "spec.delivery.retraining.schedule", "should match"},
		{validProduct, "spec.delivery.retraining.schedule", nil, "spec.delivery.retraining", "timeZone needs a schedule"},
		{validProduct, "spec.delivery.retraining.concurrencyPolicy", "Allow", "spec.delivery.retraining.concurrencyPolicy", "Unsupported value"},
		{validProduct, "spec.delivery.retraining.cooldown", "-1h", "spec.delivery.retraining.cooldown", "should match"},
		{validProduct, "spec.delivery.retraining.timeZone", "Not A Zone!", "spec.delivery.retraining.timeZone", "should match"},
		{validProduct, "spec.delivery.retraining.successfulJobsHistoryLimit", -1, "spec.delivery.retraining.successfulJobsHistoryLimit", "greater than or equal to 0"},
		{validProduct, "spec.delivery.retraining.template", nil, "spec.delivery.retraining.template", "template (a Job) is set exactly when backend is Job"},
		{validProduct, "spec.delivery.retraining.backend", "TrainJob", "spec.delivery.retraining.trainJob", "trainJob is set exactly when backend is TrainJob"},
		{validProduct, "spec.delivery.retraining.jobSet", map[string]any{"spec": map[string]any{}}, "spec.delivery.retraining.jobSet", "jobSet is set exactly when backend is JobSet"},
		{validProduct, "spec.delivery.retraining.backend", "Slurm", "spec.delivery.retraining.backend", "Unsupported value"},
		{validProduct, "spec.delivery.promotion.requirements.0", map[string]any{"metric": "auc"}, "spec.delivery.promotion.requirements[0]", "a requirement needs min, max, or both"},
		{validProduct, "spec.delivery.promotion.requirements.0.max", "0.7", "spec.delivery.promotion.requirements[0]", "min must not be above max"},
		{validProduct, "spec.delivery.promotion.slices.0.minRatio", "1.25", "spec.delivery.promotion.slices[0]", "minRatio must be above 0 and at most 1"},
		{validProduct, "spec.delivery.promotion.slices.0.minRatio", "0", "spec.delivery.promotion.slices[0]", "minRatio must be above 0 and at most 1"},
		{validProduct, "spec.delivery.promotion.slices.1.maxGap", "-0.1", "spec.delivery.promotion.slices[1]", "maxGap must not be negative"},
		{validProduct, "spec.delivery.promotion.slices.1.max", "0.5", "spec.delivery.promotion.slices[1]", "min must not be above max"},
		{validProduct, "spec.delivery.promotion.slices.1", map[string]any{"metric": "recall", "by": "group"}, "spec.delivery.promotion.slices[1]", "a slice requirement needs min, max, maxGap or minRatio"},
		{validProduct, "spec.delivery.promotion.slices.1.by", "age group", "spec.delivery.promotion.slices[1].by", "should match"},
		{validProduct, "spec.delivery.evaluation.timeout", "0s", "spec.delivery.evaluation.timeout", "timeout must be between 1s and 168h"},
		{validProduct, "spec.delivery.evaluation.template", nil, "spec.delivery.evaluation.template", "Required value"},
		{validProduct, "spec.delivery.promotion.mustBeatProduction.0.better", "More", "spec.delivery.promotion.mustBeatProduction[0].better", "Unsupported value"},
		{validProduct, "spec.delivery.promotion.requirements.1.max", "1e9999", "spec.delivery.promotion.requirements[1].max", "should match"},
		{validVersion, "spec.version", "1.0", "spec.version", "should match"},
		{validVersion, "spec.artifact.uri", "not a uri", "spec.artifact.uri", "should match"},
		{validVersion, "spec.artifact.digest", "md5:abc", "spec.artifact.digest", "should match"},
		{validVersion, "spec.artifact.format", "Pickle", "spec.artifact.format", "Unsupported value"},
		{validVersion, "spec.metrics.0.value", "high", "spec.metrics[0].value", "should match"},
		{validVersion, "spec.lineage.dataset.window.start", "2026-12-01T00:00:00Z", "spec.lineage.dataset.window", "start must not be after end"},
		{validVersion, "spec.metrics.1.slice", map[string]any{"age group": "old"}, "spec.metrics[1].slice", "slice keys are label names"},
		{validVersion, "spec.lineage.trigger", "Cron", "spec.lineage.trigger", "Unsupported value"},
		{validVersion, "spec.product", nil, "spec.product", "Required value"},
	}
	rejects := func(tc badCase) {
		obj := parse(tc.base)
		setPath(obj.Object, tc.path, tc.value)
		obj.SetNamespace(ns)
		err := k8sClient.Create(ctx, obj, client.DryRunAll)
		Expect(err).To(HaveOccurred(), "the API server accepted %s = %v", tc.path, short(tc.value))
		Expect(err.Error()).To(ContainSubstring(tc.field))
		Expect(err.Error()).To(ContainSubstring(tc.message))
	}
	for i, tc := range prodCases {
		It(fmt.Sprintf("rejects bad manifest %d: %s = %v", i, tc.path, short(tc.value)), func() { rejects(tc) })
	}
	for i, tc := range hostileCases {
		It(fmt.Sprintf("rejects hostile manifest %d: %s = %v", i, tc.path, short(tc.value)), func() { rejects(tc) })
	}

	It("rejects nesting deeper than the API server decodes", func() {
		obj := parse(validProduct)
		setPath(obj.Object, "spec.strategy.vision", nested(10001))
		obj.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).NotTo(Succeed())
	})

	It("accepts Unicode in free text, where people write their own names and words", func() {
		obj := parse(validProduct)
		setPath(obj.Object, "spec.owners.productManager", "Zoë Ñúñez")
		setPath(obj.Object, "spec.owners.techLead", "李小龍")
		setPath(obj.Object, "spec.strategy.vision", "Garder nos clients fidèles — 顧客を維持する 🚀")
		obj.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed())
	})

	It("rejects retraining with neither a schedule nor onDrift nor onObjectiveBreach", func() {
		obj := parse(validProduct)
		setPath(obj.Object, "spec.delivery.retraining.schedule", nil)
		setPath(obj.Object, "spec.delivery.retraining.timeZone", nil)
		setPath(obj.Object, "spec.delivery.retraining.onDrift", false)
		setPath(obj.Object, "spec.delivery.retraining.onObjectiveBreach", nil)
		obj.SetNamespace(ns)
		err := k8sClient.Create(ctx, obj, client.DryRunAll)
		Expect(err).To(MatchError(And(ContainSubstring("spec.delivery.retraining"),
			ContainSubstring("retraining needs a schedule, onDrift or onObjectiveBreach"))))
	})

	DescribeTable("keeps a ModelVersion's identity immutable",
		func(path string, value any, message string) {
			obj := parse(validVersion)
			obj.SetNamespace(ns)
			obj.SetName(fmt.Sprintf("immutable-%d", GinkgoParallelProcess()) + strings.ReplaceAll(strings.ToLower(path), ".", "-"))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
			// A patch, not an update: the operator labels new versions, and a
			// stale resourceVersion would fail for that reason instead.
			before := obj.DeepCopy()
			setPath(obj.Object, path, value)
			err := k8sClient.Patch(ctx, obj, client.MergeFrom(before), client.DryRunAll)
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("version", "spec.version", "2.0.0", "version is immutable"),
		Entry("artifact uri", "spec.artifact.uri", "s3://models/other", "artifact is immutable"),
		Entry("artifact digest", "spec.artifact.digest", nil, "artifact is immutable"),
		Entry("product", "spec.product", "other", "product is immutable"),
		Entry("self-reported metrics, edited", "spec.metrics", []any{map[string]any{"name": "auc", "value": "0.99"}},
			"metrics are self-reported at registration and immutable"),
		Entry("self-reported metrics, removed", "spec.metrics", nil, "metrics are self-reported at registration and immutable"),
	)

	It("refuses metrics added to a version registered without them", func() {
		obj := parse(validVersion)
		obj.SetNamespace(ns)
		obj.SetName("no-metrics")
		setPath(obj.Object, "spec.metrics", nil)
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
		before := obj.DeepCopy()
		setPath(obj.Object, "spec.metrics", []any{map[string]any{"name": "auc", "value": "0.99"}})
		Expect(k8sClient.Patch(ctx, obj, client.MergeFrom(before), client.DryRunAll)).To(MatchError(
			ContainSubstring("metrics are self-reported at registration and immutable")))
	})

	It("refuses a metric reported twice for the same slice", func() {
		obj := parse(validVersion)
		obj.SetNamespace(ns)
		setPath(obj.Object, "spec.metrics", []any{
			map[string]any{"name": "recall", "value": "0.8", "slice": map[string]any{"group": "a"}},
			map[string]any{"name": "recall", "value": "0.7", "slice": map[string]any{"group": "a"}}})
		Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(MatchError(ContainSubstring("a metric appears once per name and slice")))
	})

	It("accepts the valid product and version used as the base of the bad cases", func() {
		for _, doc := range []string{validProduct, validVersion} {
			obj := parse(doc)
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed())
		}
	})

	It("accepts a ModelVersion's model card changing", func() {
		obj := parse(validVersion)
		obj.SetNamespace(ns)
		obj.SetName("mutable-card")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, obj) })
		before := obj.DeepCopy()
		setPath(obj.Object, "spec.modelCard", map[string]any{"intendedUse": "churn scoring"})
		Expect(k8sClient.Patch(ctx, obj, client.MergeFrom(before), client.DryRunAll)).To(Succeed())
	})

	It("accepts every manifest in config/samples", func() {
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		accepted := 0
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096)
			for {
				obj := &unstructured.Unstructured{}
				if err := dec.Decode(&obj.Object); err != nil {
					break
				}
				if len(obj.Object) == 0 {
					continue
				}
				obj.SetNamespace(ns)
				// Strict, as kubectl apply is: a field the schema lacks is an error.
				Expect(k8sClient.Create(ctx, obj, client.DryRunAll, client.FieldValidation("Strict"))).To(Succeed(), "%s: %s", f, obj.GetName())
				accepted++
			}
		}
		Expect(accepted).To(BeNumerically(">=", 6))
	})
})

// injection is a value that would add a series to any query it were pasted
// into as text: it closes a label matcher and appends `or vector(1)`.
const injection = `"} or vector(1) or up{a="`

// hostileCases are what an attacker who may create AIProducts or
// ModelVersions would try: strings big enough to hurt, nesting, PromQL
// injection in every field that reaches a query or a name, durations that
// are negative or overflow int64 nanoseconds, numbers beyond float64 or
// int32, and Unicode where only ASCII names belong. Kubernetes names are
// DNS labels, so an injection in metadata.name never reaches a query; the
// operator quotes every value anyway (prom.Expand, FuzzExpand).
var hostileCases = []badCase{
	// Huge strings.
	{validProduct, "spec.strategy.objectives.0.query", strings.Repeat("x", 4097), "spec.strategy.objectives[0].query", "Too long"},
	{validProduct, "spec.strategy.vision", strings.Repeat("v", 1<<20), "spec.strategy.vision", "Too long"},
	{validProduct, "spec.delivery.retraining.schedule", strings.Repeat("1,", 80) + "1 * * * *", "spec.delivery.retraining.schedule", "Too long"},
	{validProduct, "spec.delivery.monitoring.drift.0.feature", strings.Repeat("f", 129), "spec.delivery.monitoring.drift[0].feature", "Too long"},
	{validProduct, "spec.delivery.rollout.steps.2.analysis.metrics.0.threshold", strings.Repeat("9", 41), "spec.delivery.rollout.steps[2].analysis.metrics[0].threshold", "Too long"},
	{validProduct, "spec.strategy.evaluationInterval", strings.Repeat("1s", 17), "spec.strategy.evaluationInterval", "Too long"},
	{validProduct, "spec.discovery.experiments.0.headerMatch", map[string]any{"name": "x-cohort", "value": strings.Repeat("b", 4097)}, "spec.discovery.experiments[0].headerMatch.value", "Too long"},
	{validVersion, "spec.artifact.uri", "s3://" + strings.Repeat("m", 3000), "spec.artifact.uri", "Too long"},
	{validVersion, "spec.modelCard", map[string]any{"intendedUse": strings.Repeat("u", 5000)}, "spec.modelCard.intendedUse", "Too long"},
	// Too many items: every list is bounded.
	{validProduct, "spec.strategy.objectives", manyObjectives(33), "spec.strategy.objectives", "Too many"},
	{validVersion, "spec.metrics", evaluationMetrics(65), "spec.metrics", "Too many"},
	// Nesting where a string belongs.
	{validProduct, "spec.strategy.vision", nested(64), "spec.strategy.vision", "must be of type string"},
	{validProduct, "spec.delivery.rollout.steps.0", map[string]any{"setWeight": nested(16)}, "spec.delivery.rollout.steps[0].setWeight", "must be of type int32"},
	// PromQL injection in names and in the values that reach queries.
	{validProduct, "metadata.name", `churn"} or vector(1) #`, "metadata.name", "RFC 1123"},
	{validProduct, "metadata.name", `churn{product="x"}`, "metadata.name", "RFC 1123"},
	{validProduct, "spec.delivery.modelVersion.name", "churn-v1" + injection, "spec.delivery.modelVersion.name", "should match"},
	{validProduct, "spec.discovery.experiments.0.modelVersion", "churn-v2" + injection, "spec.discovery.experiments[0].modelVersion", "should match"},
	{validProduct, "spec.strategy.objectives.0.name", "retention" + injection, "spec.strategy.objectives[0].name", "should match"},
	{validProduct, "spec.strategy.objectives.0.target", "0.9" + injection, "spec.strategy.objectives[0].target", "should match"},
	{validProduct, "spec.delivery.rollout.steps.2.analysis.metrics.0.name", "errors" + injection, "spec.delivery.rollout.steps[2].analysis.metrics[0].name", "should match"},
	{validProduct, "spec.delivery.serving.modelURIEnv", "MODEL_URI=$(id)", "spec.delivery.serving.modelURIEnv", "should match"},
	{validProduct, "spec.delivery.retraining.resultContainer", "trainer;id", "spec.delivery.retraining.resultContainer", "should match"},
	{validProduct, "spec.discovery.experiments.0.headerMatch", map[string]any{"name": "x-cohort", "value": "b\r\nx-admin: 1"}, "spec.discovery.experiments[0].headerMatch.value", "should match"},
	{validProduct, "spec.discovery.experiments.0.headerMatch", map[string]any{"name": "x-cohort: b\r\nx-admin", "value": "1"}, "spec.discovery.experiments[0].headerMatch.name", "should match"},
	{validVersion, "metadata.name", "churn-v1" + injection, "metadata.name", "RFC 1123"},
	{validVersion, "spec.product", "churn" + injection, "spec.product", "should match"},
	{validVersion, "spec.version", "1.0.0" + injection, "spec.version", "should match"},
	{validVersion, "spec.artifact.uri", "s3://models/churn\n/1.0.0", "spec.artifact.uri", "should match"},
	// Negative and overflowing durations, numbers beyond their type.
	{validProduct, "spec.strategy.evaluationInterval", "-1m", "spec.strategy.evaluationInterval", "should match"},
	{validProduct, "spec.strategy.evaluationInterval", "9999999999h", "spec.strategy.evaluationInterval", "type conversion error"},
	{validProduct, "spec.strategy.evaluationInterval", "48h", "spec.strategy.evaluationInterval", "between 5s and 24h"},
	{validProduct, "spec.discovery.experiments.0.duration", "2562048h", "spec.discovery.experiments[0].duration", "type conversion error"},
	{validProduct, "spec.delivery.rollout.steps.1.pause.duration", "-1s", "spec.delivery.rollout.steps[1].pause.duration", "should match"},
	{validProduct, "spec.delivery.rollout.steps.1.pause.duration", "2562047h47m16.854775808s", "spec.delivery.rollout.steps[1].pause.duration", "type conversion error"},
	{validProduct, "spec.delivery.retraining.cooldown", "99999999999999h", "spec.delivery.retraining.cooldown", "type conversion error"},
	{validProduct, "spec.delivery.monitoring.drift.0.for", "1e3s", "spec.delivery.monitoring.drift[0].for", "should match"},
	{validProduct, "spec.delivery.monitoring.interval", "25h", "spec.delivery.monitoring.interval", "between 5s and 24h"},
	{validProduct, "spec.delivery.retraining.startingDeadlineSeconds", int64(9223372036854775807), "spec.delivery.retraining.startingDeadlineSeconds", "less than or equal to"},
	{validProduct, "spec.delivery.retraining.startingDeadlineSeconds", -1, "spec.delivery.retraining.startingDeadlineSeconds", "greater than or equal to 1"},
	{validProduct, "spec.delivery.rollout.steps.0.setWeight", int64(2147483648 + 20), "spec.delivery.rollout.steps[0].setWeight", "less than or equal to 100"},
	{validProduct, "spec.delivery.serving.replicas", int64(9223372036854775807), "spec.delivery.serving.replicas", "less than or equal to 1000"},
	{validProduct, "spec.delivery.rollout.steps.2.analysis.count", int64(-2147483649), "spec.delivery.rollout.steps[2].analysis.count", "greater than or equal to 1"},
	{validProduct, "spec.delivery.rollout.steps.2.analysis.metrics.0.threshold", "1e999", "spec.delivery.rollout.steps[2].analysis.metrics[0].threshold", "64-bit float"},
	{validProduct, "spec.delivery.promotion.requirements.0.min", "-1e400", "spec.delivery.promotion.requirements[0].min", "64-bit float"},
	{validVersion, "spec.metrics.0.value", "1e309", "spec.metrics[0].value", "64-bit float"},
	// Unicode where only ASCII names belong: look-alikes, zero-width and
	// bidirectional controls that make a name read as another.
	{validProduct, "metadata.name", "chürn", "metadata.name", "RFC 1123"},
	{validProduct, "metadata.name", "сhurn", "metadata.name", "RFC 1123"}, // Cyrillic es
	{validProduct, "spec.strategy.objectives.0.name", "rétention", "spec.strategy.objectives[0].name", "should match"},
	{validProduct, "spec.delivery.modelVersion.name", "churn\u200b-v1", "spec.delivery.modelVersion.name", "should match"},
	{validProduct, "spec.discovery.experiments.0.name", "ab\u202etset", "spec.discovery.experiments[0].name", "should match"},
	{validProduct, "spec.delivery.retraining.timeZone", "Europe/Berlín", "spec.delivery.retraining.timeZone", "should match"},
	{validProduct, "spec.delivery.retraining.timeZone", "Local", "spec.delivery.retraining.timeZone", "IANA zone"},
	{validProduct, "spec.delivery.retraining.schedule", "0 3 * * \uff11", "spec.delivery.retraining.schedule", "should match"},
	{validVersion, "spec.metrics.0.name", "\u03b1uc", "spec.metrics[0].name", "should match"},
}

// nested is an object depth levels deep.
func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

func manyObjectives(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("o%d", i), "query": "up", "target": "1", "direction": "AtLeast"}
	}
	return out
}

func evaluationMetrics(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("m%d", i), "value": "1"}
	}
	return out
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
