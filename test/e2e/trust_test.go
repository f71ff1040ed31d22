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
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// evaluation is a product's spec.delivery.evaluation whose evaluator
// reports result: on kwokctl a Stage completes the pod with the annotation
// as its termination message; on kind the container writes it.
func evaluation(result string) string {
	return `    evaluation:
      dataset: {uri: "s3://data/e2e/holdout"}
      timeout: 5m
      template:
        spec:
          template:
            metadata:
              annotations:
                aipm.io/e2e-result: '` + result + `'
            spec:
              restartPolicy: Never
              containers:
              - name: evaluator
                image: busybox:1.37
                command: [sh, -c, 'printf %s "$RESULT" > /dev/termination-log']
                env: [{name: RESULT, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['aipm.io/e2e-result']"}}}]
                securityContext: {runAsUser: 65534}
`
}

// evaluated is a product still in Strategy whose versions are evaluated
// independently and judged by promotion.
func evaluated(name, result, promotion string) string {
	return `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Strategy
` + owners + strategy + `  delivery:
    modelVersion: {policy: LatestEligible}
` + serving + evaluation(result) + promotion
}

// conversion is a business objective computed from the counters the
// simulator drives: conversions per request of one version.
const conversion = `    - name: conversion
      query: 'sum(rate(conversions_total{product=$product, version=$version}[10s])) / sum(rate(requests_total{product=$product, version=$version}[10s]))'
      target: "0.05"
      direction: AtLeast
      breachFor: 5s
`

// business is a product in Delivery, through a shadow experiment on v1,
// whose objectives include conversion.
func business(name, pinned, rollout string) string {
	return `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Delivery
` + owners + `  strategy:
    assessment:
      value: {rating: High}
      usability: {rating: High}
      feasibility: {rating: High}
      viability: {rating: Medium}
    objectives:
` + conversion + `    evaluationInterval: 5s
  discovery:
    experiments:
    - name: shadow
      type: Shadow
      modelVersion: ` + name + `-v1
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: auc, query: 'max(model_online_auc{product=$product, version=$version})', threshold: "0.8", direction: AtLeast}
  delivery:
    modelVersion: {name: ` + pinned + `}
` + serving + `    rollout:
` + rollout
}

// traffic makes the simulator count requests and conversions of a version.
func traffic(product, version string, requests, conversions float64) {
	simRate("requests_total", labels(product, version), requests)
	simRate("conversions_total", labels(product, version), conversions)
}

// trustSpecs are the scenarios of promotion a team can trust: evaluation
// that is not the trainer's own, fairness by slice, business objectives
// that guard and roll back, drift the operator computes itself.
func trustSpecs() {
	It("never makes Eligible a version whose independent evaluation contradicts its trainer, and refuses edits to what the trainer reported", func() {
		const name = "e2e-eval"
		apply(evaluated(name, `{"metrics":{"auc":0.61}}`, `    promotion:
      requirements: [{metric: auc, min: "0.85"}]
`) + "---" + version(name, name+"-v1", "1.0.0", "0.99"))
		kubectl("wait", "mv/"+name+"-v1", "-n", "default", "--for", "jsonpath={.status.evaluation.phase}=Succeeded", "--timeout", "90s")
		Expect(jsonpath("mv", name+"-v1", ".status.eligible")).To(Equal("false"))
		Expect(cond("mv", name+"-v1", "Eligible", "message")).To(Equal("independent evaluation: auc is 0.61, below the floor 0.85"))
		Expect(jsonpath("mv", name+"-v1", ".spec.metrics[0].value")).To(Equal("0.99"), "the trainer's figure stays, for the record")
		Consistently(func() string { return jsonpath("mv", name+"-v1", ".status.eligible") }, 5*time.Second, time.Second).Should(Equal("false"))
		jobs := strings.Fields(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product="+name+",lifecycle.aipm.io/evaluation=true", "-o", "name"))
		Expect(jobs).To(HaveLen(1), "exactly one evaluation Job")

		By("editing the self-reported metrics")
		out, err := kubectlMaybe("patch", "mv", name+"-v1", "-n", "default", "--type", "merge", "-p", `{"spec":{"metrics":[{"name":"auc","value":"0.6"}]}}`)
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("metrics are self-reported at registration and immutable"))
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_evaluations_total{product="` + name + `", result="Succeeded"})`)
			return v
		}).Should(Equal(1.0))
	})

	It("keeps out a version that passes every technical metric but fails the four-fifths rule on one slice, naming the slice", func() {
		const name = "e2e-fair"
		apply(evaluated(name, `{"metrics":{"auc":0.93,"precision":0.9},"slices":[`+
			`{"metric":"selection_rate","slice":{"group":"under_30"},"value":0.31},`+
			`{"metric":"selection_rate","slice":{"group":"age_30_60"},"value":0.3},`+
			`{"metric":"selection_rate","slice":{"group":"age_60_plus"},"value":0.19}]}`, `    promotion:
      requirements: [{metric: auc, min: "0.85"}, {metric: precision, min: "0.8"}]
      slices: [{metric: selection_rate, by: group, minRatio: "0.8"}]
`) + "---" + version(name, name+"-v1", "1.0.0", "0.95"))
		kubectl("wait", "mv/"+name+"-v1", "-n", "default", "--for", "jsonpath={.status.evaluation.phase}=Succeeded", "--timeout", "90s")
		Eventually(func() string { return cond("mv", name+"-v1", "Eligible", "message") }).Should(Equal(
			"independent evaluation: selection_rate ratio of slice group=age_60_plus (0.19) to slice group=under_30 (0.31) is 0.6129, below the least allowed 0.8"))
		Expect(jsonpath("mv", name+"-v1", ".status.eligible")).To(Equal("false"))
		Eventually(func() float64 {
			_, v, _ := promQuery(`aipm_model_version_slice_ratio{product="` + name + `", metric="selection_rate", by="group"}`)
			return v
		}).Should(BeNumerically("~", 0.19/0.31, 1e-9))
	})

	It("aborts a canary whose business objective, from the counters the simulator drives, is 20% worse than stable's", func() {
		const name = "e2e-guard"
		rollout := `      progressDeadline: 60s
      steps:
      - setWeight: 50
      - analysis:
          interval: 2s
          count: 3
          objectives: [conversion]
          maxObjectiveDegradation: "0.1"
      - setWeight: 100
`
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		traffic(name, name+"-v1", 10, 1)
		traffic(name, name+"-v2", 10, 0.8)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + business(name, name+"-v1", rollout))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		Eventually(func() string { return jsonpath("aip", name, `.status.objectives[?(@.name=="conversion")].result`) }).Should(Equal("Met"))

		apply(version(name, name+"-v2", "2.0.0", "0.97"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(business(name, name+"-v2", rollout))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "120s")
		Expect(jsonpath("mv", name+"-v2", ".status.stageReason")).To(MatchRegexp(
			`^` + name + `-v2 rolled back: guardrail on objective conversion: the canary did (19|20)(\.\d+)?% worse than the stable version, at most 10% allowed$`))
		degradation, err := strconv.ParseFloat(jsonpath("aip", name, `.status.rollout.analysis[?(@.name=="objective/conversion")].value`), 64)
		Expect(err).NotTo(HaveOccurred())
		Expect(degradation).To(BeNumerically("~", 0.2, 0.01))
		Expect(jsonpath("aip", name, ".status.productionVersion")).To(Equal(name + "-v1"))
		Expect(jsonpath("aip", name, ".status.rollout.phase")).To(Equal("Aborted"))
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_guardrail_verdicts_total{product="` + name + `", objective="conversion", result="Missed"})`)
			return v
		}).Should(BeNumerically(">=", 1))
		// Kept: the overview dashboard's guardrail panel reads its counter,
		// which goes with the product.
	})

	It("rolls a promoted version whose objective breaks within the watch window back to the previous one, holding capacity", func() {
		const name = "e2e-watch"
		rollout := `      progressDeadline: 60s
      steps:
      - setWeight: 100
      postPromotion: {window: 10m, objectives: [conversion]}
`
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		traffic(name, name+"-v1", 10, 1)
		traffic(name, name+"-v2", 10, 1)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + business(name, name+"-v1", rollout))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		apply(version(name, name+"-v2", "2.0.0", "0.97"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(business(name, name+"-v2", rollout))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/"+name+"-v1", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Eventually(func() string { return jsonpath("deploy", name+"-v2", ".status.availableReplicas") }).Should(Equal("4"))
		Eventually(func() string { return jsonpath("aip", name, `.status.objectives[?(@.name=="conversion")].result`) }).Should(Equal("Met"))

		By("the promoted version's conversions collapsing")
		capacity := watchCapacity(name, 4)
		simRate("conversions_total", labels(name, name+"-v2"), 0.1)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.reason}=PostPromotionRollback", "--timeout", "90s")
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.phase}=Aborted", "--timeout", "90s")
		Expect(jsonpath("aip", name, ".status.productionVersion")).To(Equal(name + "-v1"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "60s")
		Expect(jsonpath("mv", name+"-v2", ".status.stageReason")).To(MatchRegexp(
			`^` + name + `-v2 rolled back: objective conversion is 0\.0\d+ against a target of at least 0\.05, missed for \d+s within the post-promotion window$`))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/"+name+"-v2", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(jsonpath("deploy", name+"-v1", ".status.availableReplicas")).To(Equal("4"))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the rollback kept the product's 4 replicas available")
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_post_promotion_rollbacks_total{product="` + name + `", objective="conversion"})`)
			return v
		}).Should(Equal(1.0))
		// Kept, as e2e-guard is, for the dashboard's rollback panel.
	})

	It("computes drift from feature histograms against a reference window, matching SciPy within 1e-9, and starts exactly one retraining run", func() {
		const name = "e2e-hist"
		buckets := func(counts ...float64) []map[string]any {
			var out []map[string]any
			cum := 0.0
			for i, c := range counts {
				cum += c
				le := strconv.Itoa(i + 1)
				if i == len(counts)-1 {
					le = "+Inf"
				}
				out = append(out, map[string]any{"labels": map[string]string{"product": name, "version": name + "-v1", "le": le}, "value": cum})
			}
			return out
		}
		product := `
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
    modelVersion: {name: ` + name + `-v1}
` + serving + `    monitoring:
      interval: 5s
      drift:
      - name: tenure-psi
        feature: tenure
        histogram:
          query: 'sum by (le) (feature_tenure_bucket{product=$product, version=$version})'
          reference: {offset: 20s}
        threshold: "0.2"
        statistic: PSI
        for: 4s
` + retraining
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		simSetAll("feature_tenure_bucket", buckets(30, 30, 20, 15, 5))
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + product)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		// Once the reference window holds the same buckets, no drift.
		Eventually(func() string { return jsonpath("aip", name, ".status.drift[0].value") }, 90*time.Second).Should(Equal("0"))
		Expect(jsonpath("aip", name, ".status.driftState")).To(Equal("None"))

		By("the inputs shifting")
		simSetAll("feature_tenure_bucket", buckets(10, 20, 40, 20, 10))
		// The same buckets as the "shifted" case of
		// internal/drift/testdata/reference.py: SciPy and NumPy, not the
		// operator's code, computed this PSI.
		const scipyPSI = 0.4479398673070137
		Eventually(func() float64 {
			v, err := strconv.ParseFloat(jsonpath("aip", name, ".status.drift[0].value"), 64)
			if err != nil {
				return math.NaN()
			}
			return v
		}, 30*time.Second).Should(BeNumerically("~", scipyPSI, 1e-9))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "condition=Drifted", "--timeout", "60s")
		Eventually(func() []string {
			return strings.Fields(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product="+name+",lifecycle.aipm.io/trigger=Drift", "-o", "name"))
		}).Should(HaveLen(1))
		// The reference catches up 20s after the shift and the breach ends;
		// nothing starts a second run.
		Eventually(func() string { return jsonpath("aip", name, ".status.driftState") }, 60*time.Second).Should(Equal("None"))
		Expect(strings.Fields(kubectl("get", "rrun", "-n", "default", "-l", "lifecycle.aipm.io/product="+name, "-o", "name"))).To(HaveLen(1))
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_drift_computations_total{product="` + name + `", result="Computed"})`)
			return v
		}).Should(BeNumerically(">=", 1))
	})
}

// approvalSpecs are the scenarios of people who sign off with their
// identity: the API server says who they are, and that they hold the role.
func approvalSpecs() {
	It("waits for the product manager and the tech lead, refuses anyone else, promotes on both sign-offs and aborts on a rejection", func() {
		const name = "e2e-approve"
		kubectl("apply", "-f", filepath.Join(root, "config", "rbac", "approval_approver_role.yaml"))
		apply(`
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e2e-approvers, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: approval-approver-role}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: pm@example.com}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: tl@example.com}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: eve@example.com}
`)
		rollout := `      progressDeadline: 60s
      steps:
      - setWeight: 50
`
		product := func(pinned string) string {
			return business(name, pinned, rollout) + `    promotion:
      approvals: [ProductManager, TechLead]
`
		}
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		traffic(name, name+"-v1", 10, 1)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + product(name+"-v1"))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		apply(version(name, name+"-v2", "2.0.0", "0.97"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(product(name + "-v2"))
		Eventually(func(g Gomega) {
			g.Expect(cond("aip", name, "Ready", "reason")).To(Equal("AwaitingApproval"))
			g.Expect(cond("aip", name, "Ready", "message")).To(Equal(name +
				"-v2 passed every step; waiting for approval by ProductManager (pm@example.com) and TechLead (tl@example.com)"))
		}).WithTimeout(90 * time.Second).Should(Succeed())

		By("someone who is not the tech lead, refused by the API server")
		out, err := kubectlAipmMaybe("approve", name, "-n", "default", "--role", "tech-lead", "--as", "eve@example.com")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("user eve@example.com is not the TechLead of AIProduct " + name + ", tl@example.com is"))

		By("the product manager and the tech lead signing off, with kubectl aipm and with kubectl create")
		Expect(kubectlAipm("approve", name, "-n", "default", "--role", "product-manager", "--comment", "ships the Q4 goal",
			"--as", "pm@example.com")).To(ContainSubstring("pm@example.com approved the promotion of " + name + "-v2 as ProductManager"))
		Eventually(func() string { return cond("aip", name, "Ready", "message") }).Should(HaveSuffix("waiting for approval by TechLead (tl@example.com)"))
		createAs("tl@example.com", `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: Approval
metadata: {generateName: `+name+`-tl-, namespace: default}
spec: {product: `+name+`, version: `+name+`-v2, role: TechLead, decision: Approve, approver: someone-else, comment: capacity checked}
`)
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Expect(jsonpath("aip", name, `.status.rollout.approvals[?(@.role=="ProductManager")].approver`)).To(Equal("pm@example.com"))
		Expect(jsonpath("aip", name, `.status.rollout.approvals[?(@.role=="TechLead")].approver`)).To(Equal("tl@example.com"),
			"the API server names the approver, not the manifest")
		Expect(jsonpath("aip", name, `.status.rollout.approvals[?(@.role=="TechLead")].time`)).NotTo(BeEmpty())

		By("a rejection of the next version")
		apply(version(name, name+"-v3", "3.0.0", "0.98"))
		kubectl("wait", "mv/"+name+"-v3", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(product(name + "-v3"))
		Eventually(func() string { return cond("aip", name, "Ready", "reason") }).WithTimeout(90 * time.Second).Should(Equal("AwaitingApproval"))
		kubectlAipm("reject", name, "-n", "default", "--role", "tech-lead", "--comment", "p99 latency doubles at peak", "--as", "tl@example.com")
		kubectl("wait", "mv/"+name+"-v3", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "90s")
		Expect(jsonpath("mv", name+"-v3", ".status.stageReason")).To(Equal(name + "-v3 rolled back: rejected by tl@example.com (TechLead): p99 latency doubles at peak"))
		Expect(jsonpath("aip", name, ".status.rollout.reason")).To(Equal("ApprovalRejected"))
		Expect(jsonpath("aip", name, ".status.productionVersion")).To(Equal(name + "-v2"))
		kubectl("delete", "aip/"+name, "-n", "default", "--wait=false")
	})
}

// createAs creates manifest as user, through kubectl's impersonation.
func createAs(user, manifest string) {
	GinkgoHelper()
	cmd := exec.Command(kubectlBin, "create", "--as", user, "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "kubectl create --as %s: %s", user, out)
}
