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
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var productSeq atomic.Int32

// newProduct returns a product whose Strategy gate holds and whose Discovery
// gate does not (no experiment has run), named uniquely for the test.
func newProduct(phase lifecyclev1alpha1.ProductPhase) *lifecyclev1alpha1.AIProduct {
	a := &lifecyclev1alpha1.Assessment{Rating: lifecyclev1alpha1.RatingHigh}
	interval := metav1.Duration{Duration: 5 * time.Second}
	return &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("product-%d", productSeq.Add(1)), Namespace: "default"},
		Spec: lifecyclev1alpha1.AIProductSpec{
			Phase:  phase,
			Owners: lifecyclev1alpha1.Owners{ProductManager: "pm", DataScientist: "ds", TechLead: "tl"},
			Strategy: &lifecyclev1alpha1.StrategySpec{
				EvaluationInterval: &interval,
				Objectives:         []lifecyclev1alpha1.Objective{{Name: "ctr", Query: "ctr{product=$product}", Target: "0.1", Direction: lifecyclev1alpha1.AtLeast}},
				Assessment:         lifecyclev1alpha1.ProductAssessment{Value: a, Usability: a, Feasibility: a, Viability: a},
			},
			Discovery: &lifecyclev1alpha1.DiscoverySpec{Experiments: []lifecyclev1alpha1.DiscoveryExperiment{{
				Name: "shadow", Type: lifecyclev1alpha1.ExperimentShadow, ModelVersion: "candidate",
				Duration: metav1.Duration{Duration: time.Hour}, Interval: metav1.Duration{Duration: time.Minute},
				SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{{Name: "auc", Query: "auc", Threshold: "0.8", Direction: lifecyclev1alpha1.AtLeast}},
			}}},
		},
	}
}

func fetch(g Gomega, p *lifecyclev1alpha1.AIProduct) *lifecyclev1alpha1.AIProduct {
	out := &lifecyclev1alpha1.AIProduct{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), out)).To(Succeed())
	return out
}

func condition(conds []metav1.Condition, typ string) metav1.Condition {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil {
		return metav1.Condition{Type: typ, Status: "absent"}
	}
	return *c
}

func eventReasons(obj client.Object) []string {
	var list eventsv1.EventList
	ExpectWithOffset(1, k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			out = append(out, e.Reason)
		}
	}
	return out
}

// eventNotes are the messages of the Events about obj.
func eventNotes(obj client.Object) []string {
	var list eventsv1.EventList
	ExpectWithOffset(1, k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			out = append(out, e.Note)
		}
	}
	return out
}

func kstatusOf(obj client.Object) status.Status {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return res.Status
}

var _ = Describe("AIProduct phases", func() {
	It("holds a product at the Strategy gate with the reason, then moves it when the gate holds", func() {
		p := newProduct(lifecyclev1alpha1.PhaseDiscovery)
		p.Spec.Owners.TechLead = ""
		p.Spec.Strategy.Assessment.Viability = nil
		// Created as a kstatus reader sees objects, untyped: the API
		// server's answer, before the operator has seen it, carries
		// observedGeneration 0 by the CRD's default, so kstatus reads it
		// InProgress, not Current.
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
		Expect(err).NotTo(HaveOccurred())
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(lifecyclev1alpha1.GroupVersion.WithKind("AIProduct"))
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		Expect(u.Object["status"]).To(HaveKeyWithValue("observedGeneration", BeEquivalentTo(0)))
		res, err := status.Compute(u)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(status.InProgressStatus), res.Message)
		p.UID = u.GetUID()

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseStrategy))
			gate := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStrategyGate)
			g.Expect(gate.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(gate.Reason).To(Equal("OwnersMissing"))
			g.Expect(gate.Message).To(Equal("spec.owners must name techLead; spec.strategy.assessment lacks viability"))
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("GateBlocked"))
			g.Expect(ready.Message).To(ContainSubstring("in Strategy, asked for Discovery"))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			// Only a person can open this gate: Stalled, which kstatus
			// (Flux, the cli-utils applier) reads as Failed.
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStalled).Reason).To(Equal("GateBlocked"))
			g.Expect(kstatusOf(got)).To(Equal(status.FailedStatus))
		}).Should(Succeed())

		// The operator writes the product's status meanwhile: an update
		// from an older read is refused with a Conflict and made again.
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Owners.TechLead = "tl"
			got.Spec.Strategy.Assessment.Viability = &lifecyclev1alpha1.Assessment{Rating: lifecyclev1alpha1.RatingLow}
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStrategyGate).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionStatus("absent")))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionStatus("absent")))
			g.Expect(got.Status.PhaseHistory).To(HaveLen(2))
			g.Expect(got.Status.PhaseHistory[1].From).To(Equal(lifecyclev1alpha1.PhaseStrategy))
			g.Expect(got.Status.PhaseHistory[1].Reason).To(Equal("GatesPassed"))
			g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElements("PhaseChanged", "OwnersMissing", "GatePassed"))
	})

	It("stops at Discovery and names what blocks Delivery", func() {
		p := newProduct(lifecyclev1alpha1.PhaseDelivery)
		p.Spec.Discovery.Risks = []lifecyclev1alpha1.Risk{{Name: "bias", Severity: lifecyclev1alpha1.SeverityCritical, Status: lifecyclev1alpha1.RiskOpen}}
		p.Spec.Delivery = &lifecyclev1alpha1.DeliverySpec{
			ModelVersion: lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionPinned, Name: "v1"},
			Serving:      lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendKServe, InferenceService: &lifecyclev1alpha1.InferenceServiceRef{Name: "isvc"}, Replicas: 1},
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(got.Status.Gates).To(ContainElement(lifecyclev1alpha1.GateStatus{Name: "Discovery", Passed: false, Blockers: []string{
				`risk "bias" is Critical and Open; it must be Mitigated`, "no experiment has succeeded yet"}}))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate).Reason).To(Equal("RiskUnmitigated"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Message).To(
				ContainSubstring("in Discovery, asked for Delivery: " + `risk "bias" is Critical and Open`))
		}).Should(Succeed())

		By("recording an experiment success and mitigating the risk, the product reaches Delivery")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Discovery.Risks[0].Status, got.Spec.Discovery.Risks[0].Mitigation = lifecyclev1alpha1.RiskMitigated, "fairness review"
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		// The Experiment's reconciler writes this verdict; here the test
		// stands in for it, and the verdict wakes the product.
		finishExperiment(p, "shadow", lifecyclev1alpha1.VerdictSucceeded, "")

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("goes back, retires from any phase, and comes back through Strategy", func() {
		p := newProduct(lifecyclev1alpha1.PhaseDiscovery)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		Eventually(func(g Gomega) { g.Expect(fetch(g, p).Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery)) }).Should(Succeed())

		setPhase := func(ph lifecyclev1alpha1.ProductPhase) {
			Eventually(func(g Gomega) {
				got := fetch(g, p)
				got.Spec.Phase = ph
				g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
			}).Should(Succeed())
		}
		setPhase(lifecyclev1alpha1.PhaseStrategy)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseStrategy))
			last := got.Status.PhaseHistory[len(got.Status.PhaseHistory)-1]
			g.Expect(last).To(MatchFields(lifecyclev1alpha1.PhaseDiscovery, lifecyclev1alpha1.PhaseStrategy, "Requested"))
		}).Should(Succeed())

		setPhase(lifecyclev1alpha1.PhaseRetired)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseRetired))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		setPhase(lifecyclev1alpha1.PhaseDiscovery)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			n := len(got.Status.PhaseHistory)
			g.Expect(got.Status.PhaseHistory[n-2]).To(MatchFields(lifecyclev1alpha1.PhaseRetired, lifecyclev1alpha1.PhaseStrategy, "Reactivated"))
			g.Expect(got.Status.PhaseHistory[n-1]).To(MatchFields(lifecyclev1alpha1.PhaseStrategy, lifecyclev1alpha1.PhaseDiscovery, "GatesPassed"))
		}).Should(Succeed())
	})
})

// MatchFields compares a transition's from, to and reason, ignoring its time.
func MatchFields(from, to lifecyclev1alpha1.ProductPhase, reason string) OmegaMatcher {
	return WithTransform(func(t lifecyclev1alpha1.PhaseTransition) string {
		return fmt.Sprintf("%s->%s (%s)", t.From, t.To, t.Reason)
	}, Equal(fmt.Sprintf("%s->%s (%s)", from, to, reason)))
}

var _ = Describe("AIProduct objectives", func() {
	It("shows each objective against its target and follows Prometheus: met, missed, no data, down", func() {
		p := newProduct(lifecyclev1alpha1.PhaseStrategy)
		p.Spec.Strategy.Objectives = append(p.Spec.Strategy.Objectives,
			lifecyclev1alpha1.Objective{Name: "latency", Query: "latency{namespace=$namespace}", Target: "0.2", Direction: lifecyclev1alpha1.AtMost})
		ctrQuery := fmt.Sprintf(`ctr{product=%q}`, p.Name)
		latQuery := `latency{namespace="default"}`
		fakeProm.Set(ctrQuery, 0.15)
		fakeProm.Set(latQuery, 0.1)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives).To(HaveLen(2))
			g.Expect(got.Status.Objectives[0]).To(And(
				HaveField("Value", lifecyclev1alpha1.Decimal("0.15")), HaveField("Target", lifecyclev1alpha1.Decimal("0.1")), HaveField("Result", lifecyclev1alpha1.ResultMet)))
			g.Expect(got.Status.Objectives[1].Result).To(Equal(lifecyclev1alpha1.ResultMet))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionObjectivesMet).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		By("a KPI falling below its target")
		fakeProm.Set(ctrQuery, 0.05)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives[0]).To(And(HaveField("Value", lifecyclev1alpha1.Decimal("0.05")), HaveField("Result", lifecyclev1alpha1.ResultMissed)))
			c := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionObjectivesMet)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).To(Equal("ctr is 0.05, target at least 0.1"))
		}, 20*time.Second).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("ObjectiveMissed"))

		By("the query returning no data")
		fakeProm.Unset(ctrQuery)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives[0]).To(And(HaveField("Value", lifecyclev1alpha1.Decimal("")), HaveField("Result", lifecyclev1alpha1.ResultUnknown),
				HaveField("Message", "the query returned no data")))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionObjectivesMet).Status).To(Equal(metav1.ConditionUnknown))
		}, 20*time.Second).Should(Succeed())

		By("Prometheus going down")
		fakeProm.SetDown(true)
		DeferCleanup(fakeProm.SetDown, false)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives[1].Result).To(Equal(lifecyclev1alpha1.ResultUnknown))
			g.Expect(got.Status.Objectives[1].Message).To(ContainSubstring("query failed"))
		}, 20*time.Second).Should(Succeed())
	})

	It("queries on the interval and writes nothing while nothing changes", func() {
		p := newProduct(lifecyclev1alpha1.PhaseStrategy)
		q := fmt.Sprintf(`ctr{product=%q}`, p.Name)
		fakeProm.Set(q, 0.5)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		var settled string
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionObjectivesMet).Status).To(Equal(metav1.ConditionTrue))
			settled = got.ResourceVersion
		}).Should(Succeed())
		start := fakeProm.Count(q)
		// Two 5s intervals: the query runs again, the object is not written.
		Consistently(func(g Gomega) {
			g.Expect(fetch(g, p).ResourceVersion).To(Equal(settled))
		}, 11*time.Second, time.Second).Should(Succeed())
		Expect(fakeProm.Count(q) - start).To(BeNumerically(">=", 2))
		Expect(fakeProm.Count(q) - start).To(BeNumerically("<=", 3))
	})
})

var _ = Describe("Status ownership", func() {
	// Both statuses are atomic for field ownership: whoever writes status
	// owns it whole, and managedFields carry one entry of f:status, not one
	// per leaf, which every status write made the API server maintain.
	It("records each status write in managedFields as the whole status", func() {
		p := newProduct(lifecyclev1alpha1.PhaseStrategy)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		mv := newVersion(p.Name, "1.0.0", "auc", "0.9")
		Expect(k8sClient.Create(ctx, mv)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, mv)

		statusEntries := func(g Gomega, entries []metav1.ManagedFieldsEntry) []string {
			var out []string
			for _, e := range entries {
				if e.Subresource == "status" {
					g.Expect(e.FieldsV1).NotTo(BeNil())
					out = append(out, e.FieldsV1.String())
				}
			}
			return out
		}
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(statusEntries(g, got.ManagedFields)).To(ConsistOf(`{"f:status":{}}`))
			v := fetchMV(g, mv)
			g.Expect(v.Status.Stage).To(Equal(lifecyclev1alpha1.StageCandidate))
			g.Expect(statusEntries(g, v.ManagedFields)).To(ConsistOf(`{"f:status":{}}`))
		}).Should(Succeed())
	})
})
