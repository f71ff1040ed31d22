//go:build e2e

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

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func version(product, name, semver string, auc string) string {
	return fmt.Sprintf(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: ModelVersion
metadata: {name: %s, namespace: default, labels: {e2e: aipm}}
spec:
  product: %s
  version: %s
  artifact: {uri: "s3://models/%s/%s", format: ONNX}
  lineage: {trigger: Manual}
  metrics: [{name: auc, value: %q}]
`, name, product, semver, product, semver, auc)
}

const owners = `  owners: {productManager: pm@example.com, dataScientist: ds@example.com, techLead: tl@example.com}
`

const strategy = `  strategy:
    assessment:
      value: {rating: High}
      usability: {rating: High}
      feasibility: {rating: High}
      viability: {rating: Medium}
    objectives:
    - {name: ctr, query: 'max(model_ctr{product=$product})', target: "0.05", direction: AtLeast}
    evaluationInterval: 5s
`

// The images are real so that the scenarios run on kind too; on kwokctl
// no container runs.
const serving = `    serving:
      replicas: 4
      template:
        spec:
          containers: [{name: server, image: registry.k8s.io/pause:3.10}]
`

// fraud is a product that reaches Delivery through a shadow experiment and
// rolls new versions out by canary, analysed on the simulator's error ratio.
func fraud(phase, pinned, extraExperiment string) string {
	return fraudNamed("e2e-fraud", phase, pinned, extraExperiment, `      progressDeadline: 20s
      steps:
      - setWeight: 50
      - analysis:
          interval: 2s
          count: 2
          metrics:
          - {name: error-ratio, query: 'max(model_error_ratio{product=$product, version=$version})', threshold: "0.01", direction: AtMost}
      - setWeight: 100
`)
}

// fraudNamed is the fraud product under another name, with rollout as the
// body of its spec.delivery.rollout.
func fraudNamed(name, phase, pinned, extraExperiment, rollout string) string {
	return `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  phase: ` + phase + "\n" + owners + strategy + `  discovery:
    experiments:
    - name: shadow
      type: Shadow
      modelVersion: ` + name + `-v1
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: auc, query: 'max(model_online_auc{product=$product, version=$version})', threshold: "0.8", direction: AtLeast}
` + extraExperiment + `  delivery:
    modelVersion: {name: ` + pinned + `}
` + serving + `    rollout:
` + rollout
}

const abExperiment = `    - name: ab-ctr
      type: ABTest
      modelVersion: e2e-fraud-v4
      trafficPercent: 20
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: ctr, query: 'max(model_ctr{product=$product, version=$version})', threshold: "0.05", direction: AtLeast, compareToControl: true}
`

// retraining retrains on drift with a trainer that reports result. On
// kwokctl a Stage completes the pod with the annotation as its termination
// message; on kind the container writes it.
const retraining = `    retraining:
      onDrift: true
      template:
        spec:
          template:
            metadata:
              annotations:
                aipm.io/e2e-result: '` + result + `'
            spec:
              restartPolicy: Never
              containers:
              - name: trainer
                image: busybox:1.37
                command: [sh, -c, 'printf %s "$RESULT" > /dev/termination-log']
                env: [{name: RESULT, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['aipm.io/e2e-result']"}}}]
                securityContext: {runAsUser: 65534}
`

const result = `{"artifact":{"uri":"s3://models/e2e-churn/retrained","format":"ONNX"},"metrics":{"auc":0.91},"dataset":{"uri":"s3://data/churn/2026-11-23"}}`

// churn is a product on the automatic policy whose drift retrains it; its
// canary analysis takes count measurements.
func churn(count int) string { return retrained("e2e-churn", count, retraining) }

// retrained is a product on the automatic policy whose drift retrains it
// as retraining says.
func retrained(name string, count int, retraining string) string {
	return `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Delivery
` + owners + strategy + `  discovery:
    experiments:
    - name: sandbox
      type: Sandbox
      modelVersion: ` + name + `-v1
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: auc, query: 'max(model_online_auc{product=$product, version=$version})', threshold: "0.8", direction: AtLeast}
  delivery:
    modelVersion: {policy: LatestEligible}
` + serving + `    rollout:
      steps:
      - setWeight: 25
      - analysis:
          interval: 2s
          count: ` + fmt.Sprint(count) + `
          metrics:
          - {name: error-ratio, query: 'max(model_error_ratio{product=$product, version=$version})', threshold: "0.01", direction: AtMost}
    monitoring:
      interval: 5s
      drift:
      - {name: tenure-psi, feature: tenure, query: 'max(feature_drift_psi{product=$product, version=$version, feature="tenure"})', threshold: "0.2", statistic: PSI, for: 4s}
` + retraining + `    promotion:
      requirements: [{metric: auc, min: "0.85"}]
`
}

func labels(product, version string) map[string]string {
	return map[string]string{"product": product, "version": version}
}

func cond(kind, name, typ, field string) string {
	return jsonpath(kind, name, `.status.conditions[?(@.type=="`+typ+`")].`+field)
}

var _ = Describe("The operator on a real control plane", Ordered, func() {
	It("moves a product through its gates and says what blocks it", func() {
		apply(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: e2e-gates, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Discovery
` + owners + `  strategy:
    assessment:
      value: {rating: High}
    objectives:
    - {name: ctr, query: 'max(model_ctr{product=$product})', target: "0.05", direction: AtLeast}
`)
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", "e2e-gates", ".status.phase")).To(Equal("Strategy"))
			g.Expect(cond("aip", "e2e-gates", "StrategyGate", "reason")).To(Equal("AssessmentIncomplete"))
			g.Expect(cond("aip", "e2e-gates", "StrategyGate", "message")).To(Equal("spec.strategy.assessment lacks usability, feasibility and viability"))
		}).Should(Succeed())
		apply(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: e2e-gates, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Discovery
` + owners + strategy)
		kubectl("wait", "aip/e2e-gates", "-n", "default", "--for", "jsonpath={.status.phase}=Discovery", "--timeout", "60s")
		kubectl("wait", "aip/e2e-gates", "-n", "default", "--for", "condition=Ready", "--timeout", "60s")
	})

	It("lets a product into Delivery after its shadow experiment succeeds", func() {
		simSetSeen("model_online_auc", labels("e2e-fraud", "e2e-fraud-v1"), 0.93)
		simSetSeen("model_ctr", labels("e2e-fraud", "e2e-fraud-v1"), 0.08)
		apply(version("e2e-fraud", "e2e-fraud-v1", "1.0.0", "0.9") + "---" + fraud("Delivery", "e2e-fraud-v1", ""))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("exp", "e2e-fraud-shadow", ".status.phase")).To(Equal("Running"))
			g.Expect(jsonpath("aip", "e2e-fraud", ".status.phase")).To(Equal("Discovery"))
		}).Should(Succeed())
		kubectl("wait", "aip/e2e-fraud", "-n", "default", "--for", "jsonpath={.status.phase}=Delivery", "--timeout", "90s")
		Expect(jsonpath("exp", "e2e-fraud-shadow", ".status.verdict")).To(Equal("Succeeded"))
		kubectl("wait", "deploy/e2e-fraud-v1", "-n", "default", "--for", "condition=Available", "--timeout", "60s")
		kubectl("wait", "aip/e2e-fraud", "-n", "default", "--for", "condition=Ready", "--timeout", "60s")
		Expect(jsonpath("aip", "e2e-fraud", ".status.productionVersion")).To(Equal("e2e-fraud-v1"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.objectives[0].result")).To(Equal("Met"))

		By("kubectl aipm shows the product as a tree")
		tree := kubectlAipm("get", "product", "e2e-fraud", "-n", "default")
		GinkgoWriter.Println(tree)
		Expect(tree).To(HavePrefix("AIProduct default/e2e-fraud  phase Delivery\n"))
		Expect(tree).To(ContainSubstring("DiscoveryGate: open"))
		Expect(tree).To(MatchRegexp(`e2e-fraud-v1  1\.0\.0  Production, eligible  \[production\]`))
		Expect(tree).To(MatchRegexp(`e2e-fraud-shadow  Shadow of e2e-fraud-v1: Finished, Succeeded`))
	})

	It("rolls a good version out by canary against the real Prometheus, and rolls a bad one back", func() {
		simSetSeen("model_error_ratio", labels("e2e-fraud", "e2e-fraud-v2"), 0.002)
		// Whatever moves traffic, the product never has fewer available
		// pods than its 4 replicas (maxUnavailable 0).
		Eventually(func() string { return jsonpath("deploy", "e2e-fraud-v1", ".status.availableReplicas") }).Should(Equal("4"))
		capacity := watchCapacity("e2e-fraud", 4)
		apply(version("e2e-fraud", "e2e-fraud-v2", "2.0.0", "0.92"))
		kubectl("wait", "mv/e2e-fraud-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(fraud("Delivery", "e2e-fraud-v2", ""))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", "e2e-fraud", ".status.rollout.canaryVersion")).To(Equal("e2e-fraud-v2"))
		}).Should(Succeed())
		kubectl("wait", "mv/e2e-fraud-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Expect(jsonpath("mv", "e2e-fraud-v1", ".status.stage")).To(Equal("Archived"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.rollout.phase")).To(Equal("Succeeded"))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/e2e-fraud-v1", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		kubectl("wait", "deploy/e2e-fraud-v2", "-n", "default", "--for", "condition=Available", "--timeout", "60s")

		simSetSeen("model_error_ratio", labels("e2e-fraud", "e2e-fraud-v3"), 0.2)
		apply(version("e2e-fraud", "e2e-fraud-v3", "3.0.0", "0.95"))
		kubectl("wait", "mv/e2e-fraud-v3", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(fraud("Delivery", "e2e-fraud-v3", ""))
		kubectl("wait", "mv/e2e-fraud-v3", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "120s")
		Expect(jsonpath("mv", "e2e-fraud-v3", ".status.stageReason")).To(Equal("e2e-fraud-v3 rolled back: analysis metric error-ratio was 0.2, threshold at most 0.01"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.productionVersion")).To(Equal("e2e-fraud-v2"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.rollout.phase")).To(Equal("Aborted"))
		Expect(cond("aip", "e2e-fraud", "Stalled", "reason")).To(Equal("RolloutAborted"))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/e2e-fraud-v3", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "a promotion and an abort kept the product's 4 replicas available")
		Eventually(func() float64 {
			_, v, _ := promQuery(`aipm_rollouts_total{product="e2e-fraud", result="Aborted"}`)
			return v
		}).Should(BeNumerically(">=", 1))
	})

	It("aborts a canary whose model server never becomes available at the progress deadline, quoting its pods", func() {
		// Its pods crash-loop: a kwok Stage (hack/kwok/stages.yaml) plays
		// the kubelet for this version.
		if onKind {
			Skip("the crash-looping server is a kwok Stage: kwokctl only")
		}
		simSetSeen("model_error_ratio", labels("e2e-fraud", "e2e-fraud-crash"), 0.001)
		Eventually(func() string { return jsonpath("deploy", "e2e-fraud-v2", ".status.availableReplicas") }).Should(Equal("4"))
		capacity := watchCapacity("e2e-fraud", 4)
		apply(version("e2e-fraud", "e2e-fraud-crash", "5.0.0", "0.96"))
		kubectl("wait", "mv/e2e-fraud-crash", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(fraud("Delivery", "e2e-fraud-crash", ""))
		kubectl("wait", "aip/e2e-fraud", "-n", "default", "--for", "jsonpath={.status.rollout.reason}=ProgressDeadlineExceeded", "--timeout", "120s")
		kubectl("wait", "aip/e2e-fraud", "-n", "default", "--for", "jsonpath={.status.rollout.phase}=Aborted", "--timeout", "60s")
		Expect(jsonpath("aip", "e2e-fraud", ".status.rollout.message")).To(
			ContainSubstring("not available within the progress deadline of 20s: pod e2e-fraud-crash-"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.rollout.message")).To(ContainSubstring("CrashLoopBackOff"))
		Expect(jsonpath("aip", "e2e-fraud", ".status.productionVersion")).To(Equal("e2e-fraud-v2"))
		kubectl("wait", "mv/e2e-fraud-crash", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "60s")
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/e2e-fraud-crash", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the failed canary never cost the product its 4 replicas")
	})

	It("keeps capacity through an aborted promotion and a manual promote at 25%", func() {
		// The slow version's pods take 15 s to become ready: a kwok Stage
		// (hack/kwok/stages.yaml) plays the kubelet for it, so that its
		// promotion is still scaling up when the abort comes.
		if onKind {
			Skip("the slow model server is a kwok Stage: kwokctl only")
		}
		const name = "e2e-promote"
		pausedAt25 := "      progressDeadline: 60s\n      steps:\n      - setWeight: 25\n      - pause: {}\n"
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		simSetSeen("model_ctr", labels(name, name+"-v1"), 0.08)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + fraudNamed(name, "Delivery", name+"-v1", "", pausedAt25))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		Eventually(func() string { return jsonpath("deploy", name+"-v1", ".status.availableReplicas") }).Should(Equal("4"))
		paused := func(version string) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				g.Expect(jsonpath("aip", name, ".status.rollout.canaryVersion")).To(Equal(version))
				g.Expect(jsonpath("aip", name, ".status.rollout.phase")).To(Equal("Paused"))
				g.Expect(jsonpath("aip", name, ".status.rollout.effectiveWeight")).To(Equal("25"))
			}).WithTimeout(90 * time.Second).Should(Succeed())
		}

		By("an aborted promotion: promoted at 25%, aborted while the canary scales up to full size")
		capacity := watchCapacity(name, 4)
		apply(version(name, name+"-slow", "2.0.0", "0.95"))
		kubectl("wait", "mv/"+name+"-slow", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(fraudNamed(name, "Delivery", name+"-slow", "", pausedAt25))
		paused(name + "-slow")
		kubectl("annotate", "aip/"+name, "-n", "default", lifecyclev1alpha1.AnnotationPromote+"=now", "--overwrite")
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.phase}=Promoting", "--timeout", "30s")
		kubectl("annotate", "aip/"+name, "-n", "default", lifecyclev1alpha1.AnnotationAbort+"=scaling-up", "--overwrite")
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.phase}=Aborted", "--timeout", "90s")
		Expect(jsonpath("aip", name, ".status.rollout.reason")).To(Equal("AbortedByRequest"))
		Expect(jsonpath("aip", name, ".status.productionVersion")).To(Equal(name + "-v1"))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/"+name+"-slow", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the aborted promotion kept the product's 4 replicas available")

		By("a manual promote at 25%")
		capacity = watchCapacity(name, 4)
		apply(version(name, name+"-v3", "3.0.0", "0.95"))
		kubectl("wait", "mv/"+name+"-v3", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(fraudNamed(name, "Delivery", name+"-v3", "", pausedAt25))
		paused(name + "-v3")
		kubectl("annotate", "aip/"+name, "-n", "default", lifecyclev1alpha1.AnnotationPromote+"=at-25", "--overwrite")
		kubectl("wait", "mv/"+name+"-v3", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "90s")
		Expect(jsonpath("aip", name, ".status.rollout.phase")).To(Equal("Succeeded"))
		Expect(jsonpath("aip", name, ".status.rollout.reason")).To(Equal("PromotedByRequest"))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/"+name+"-v1", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the promotion from 25% kept the product's 4 replicas available")
		kubectl("delete", "aip/"+name, "-n", "default", "--wait=false")
	})

	It("closes the loop: drift, exactly one retraining Job, a ModelVersion with lineage, canary, production", func() {
		simSetSeen("model_online_auc", labels("e2e-churn", "e2e-churn-v1"), 0.9)
		simSetSeen("feature_drift_psi", map[string]string{"product": "e2e-churn", "version": "e2e-churn-v1", "feature": "tenure"}, 0.05)
		simSetSeen("model_error_ratio", labels("e2e-churn", "e2e-churn-v1-0-1"), 0.001)
		apply(version("e2e-churn", "e2e-churn-v1", "1.0.0", "0.9") + "---" + churn(1))
		kubectl("wait", "aip/e2e-churn", "-n", "default", "--for", "jsonpath={.status.productionVersion}=e2e-churn-v1", "--timeout", "120s")
		Eventually(func() string { return jsonpath("aip", "e2e-churn", ".status.driftState") }).Should(Equal("None"))
		Eventually(func() string { return jsonpath("deploy", "e2e-churn-v1", ".status.availableReplicas") }).Should(Equal("4"))
		capacity := watchCapacity("e2e-churn", 4)

		By("raising drift in the simulator")
		simSetSeen("feature_drift_psi", map[string]string{"product": "e2e-churn", "version": "e2e-churn-v1", "feature": "tenure"}, 0.4)
		kubectl("wait", "aip/e2e-churn", "-n", "default", "--for", "condition=Drifted", "--timeout", "90s")
		Eventually(func() string {
			return kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product=e2e-churn", "-o", "name")
		}).ShouldNot(BeEmpty())
		job := strings.TrimPrefix(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product=e2e-churn", "-o", "name"), "job.batch/")
		Expect(strings.Fields(job)).To(HaveLen(1), "exactly one retraining Job")
		kubectl("wait", "job/"+job, "-n", "default", "--for", "condition=Complete", "--timeout", "60s")

		By("the Job's result becoming a ModelVersion that goes out by canary")
		kubectl("wait", "mv/e2e-churn-v1-0-1", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Expect(jsonpath("mv", "e2e-churn-v1-0-1", ".spec.lineage.trainingJob")).To(Equal(job))
		Expect(jsonpath("mv", "e2e-churn-v1-0-1", ".spec.lineage.trigger")).To(Equal("Drift"))
		Expect(jsonpath("mv", "e2e-churn-v1-0-1", ".spec.lineage.parentVersion")).To(Equal("e2e-churn-v1"))
		Expect(jsonpath("mv", "e2e-churn-v1-0-1", ".spec.artifact.uri")).To(Equal("s3://models/e2e-churn/retrained"))
		Expect(jsonpath("aip", "e2e-churn", ".status.productionVersion")).To(Equal("e2e-churn-v1-0-1"))
		Expect(strings.Fields(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product=e2e-churn", "-o", "name"))).To(HaveLen(1))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the retrained version's canary and promotion kept the 4 replicas available")
		Eventually(func() float64 {
			_, v, _ := promQuery(`aipm_retraining_runs_total{product="e2e-churn", trigger="Drift", result="Succeeded"}`)
			return v
		}).Should(Equal(1.0))
	})

	It("fails an A/B test whose candidate does worse than production, and blocks the Discovery gate", func() {
		simSetSeen("model_ctr", labels("e2e-fraud", "e2e-fraud-v2"), 0.10)
		simSetSeen("model_ctr", labels("e2e-fraud", "e2e-fraud-v4"), 0.07)
		apply(version("e2e-fraud", "e2e-fraud-v4", "4.0.0", "0.95"))
		apply(fraud("Discovery", "e2e-fraud-v2", abExperiment))
		Eventually(func() string { return jsonpath("exp", "e2e-fraud-ab-ctr", ".status.phase") }).Should(Equal("Running"))
		Eventually(func() string {
			return jsonpath("exp", "e2e-fraud-ab-ctr", ".status.verdict")
		}).Should(Equal("Failed"))
		// The verdict is the Experiment's; the gate and the stage follow it
		// on the product and the version, each written by its own
		// controller.
		Eventually(func() string { return cond("aip", "e2e-fraud", "DiscoveryGate", "reason") }).Should(Equal("ExperimentFailed"))
		Expect(cond("aip", "e2e-fraud", "DiscoveryGate", "message")).To(ContainSubstring(`experiment "ab-ctr" failed: criterion ctr: candidate 0.07 against production 0.1`))
		Eventually(func() string { return jsonpath("mv", "e2e-fraud-v4", ".status.stage") }).Should(Equal("Rejected"))
	})

	It("scales serving to zero when a product retires", func() {
		apply(fraud("Retired", "e2e-fraud-v2", abExperiment))
		kubectl("wait", "aip/e2e-fraud", "-n", "default", "--for", "jsonpath={.status.phase}=Retired", "--timeout", "60s")
		Eventually(func() string { return jsonpath("deploy", "e2e-fraud-v2", ".spec.replicas") }).Should(Equal("0"))
		Eventually(func() string { return jsonpath("deploy", "e2e-fraud-v2", ".status.availableReplicas") }).Should(BeEmpty())
		Expect(kubectl("get", "mv", "-n", "default", "-l", "lifecycle.aipm.io/product=e2e-fraud", "-o", "name")).To(ContainSubstring("e2e-fraud-v1"))
	})

	// Before the dashboards' check: their panels of evaluation, fairness
	// and guardrails read what these scenarios leave.
	trustSpecs()
	approvalSpecs()
	notificationSpecs()
	registrySpecs()

	It("has the operator's metrics in Prometheus, and every dashboard query returns data", func() {
		By("putting e2e-churn mid-canary, with a long analysis, and its production version's drift measured")
		simSetSeen("feature_drift_psi", map[string]string{"product": "e2e-churn", "version": "e2e-churn-v1-0-1", "feature": "tenure"}, 0.07)
		simSetSeen("model_error_ratio", labels("e2e-churn", "e2e-churn-v2"), 0.003)
		simSetSeen("model_ctr", labels("e2e-churn", "e2e-churn-v1-0-1"), 0.06)
		apply(churn(100) + "---" + version("e2e-churn", "e2e-churn-v2", "2.0.0", "0.93"))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", "e2e-churn", ".status.rollout.canaryVersion")).To(Equal("e2e-churn-v2"))
			g.Expect(jsonpath("aip", "e2e-churn", ".status.rollout.analysis[0].value")).To(Equal("0.003"))
			g.Expect(jsonpath("aip", "e2e-churn", ".status.drift[0].value")).To(Equal("0.07"))
		}).Should(Succeed())
		Eventually(func() int { n, _, _ := promQuery(`aipm_analysis_metric_value{product="e2e-churn"}`); return n }).Should(Equal(1))
		Eventually(func() int { n, _, _ := promQuery(`aipm_drift_value{product="e2e-churn"}`); return n }).Should(Equal(1))
		Eventually(func() int { n, _, _ := promQuery(`aipm_objective_met{product="e2e-churn"} == 1`); return n }).Should(Equal(1))
		Eventually(func() int { n, _, _ := promQuery(`aipm_product_phase{phase="Retired"} == 1`); return n }).Should(BeNumerically(">=", 1))
		files, err := filepath.Glob(filepath.Join(root, "config", "grafana", "dashboards", "*.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "10m",
			"${namespace}", "default", "$namespace", "default", "${product}", "e2e-churn", "$product", "e2e-churn")
		// Panel-scoped variables (one panel per drift check or objective)
		// match any value here.
		other := regexp.MustCompile(`=~?"\$\{?[a-z_]+\}?"`)
		checked, empty := 0, []string{}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			var dash struct {
				Panels []panel `json:"panels"`
			}
			Expect(json.Unmarshal(raw, &dash)).To(Succeed())
			for _, p := range flatten(dash.Panels) {
				for _, t := range p.Targets {
					if t.Expr == "" {
						continue
					}
					q := other.ReplaceAllString(vars.Replace(t.Expr), `=~".+"`)
					n, _, err := promQuery(q)
					Expect(err).NotTo(HaveOccurred(), "%s: %s", filepath.Base(f), p.Title)
					checked++
					if n == 0 {
						empty = append(empty, fmt.Sprintf("%s / %s: %s", filepath.Base(f), p.Title, q))
					}
				}
			}
		}
		GinkgoWriter.Printf("dashboard queries run: %d, empty: %d\n", checked, len(empty))
		Expect(empty).To(BeEmpty())
	})

	// Last: it restarts the operator, whose counters the dashboards read.
	webhookSpecs()
})

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}
