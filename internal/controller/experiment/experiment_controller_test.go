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

package experiment

import (
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

var productSeq atomic.Int32

// newProduct returns a product served by the Deployment backend, named
// uniquely for the spec; it is created by createProduct.
func newProduct() *lifecyclev1alpha1.AIProduct {
	return &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("shop-%d", productSeq.Add(1)), Namespace: "default"},
		Spec: lifecyclev1alpha1.AIProductSpec{
			Phase: lifecyclev1alpha1.PhaseDiscovery,
			Delivery: &lifecyclev1alpha1.DeliverySpec{
				ModelVersion: lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionLatestEligible},
				Serving: lifecyclev1alpha1.ServingSpec{
					Backend: lifecyclev1alpha1.BackendDeployment, Replicas: 1, Port: 8080,
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "model", Image: "example.com/model-server:1",
					}}}},
				},
			},
		},
	}
}

// createProduct creates p with the status its own reconciler would have
// written: no product reconciler runs in this suite.
func createProduct(p *lifecyclev1alpha1.AIProduct, st lifecyclev1alpha1.AIProductStatus) {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
	setProductStatus(p, func(s *lifecyclev1alpha1.AIProductStatus) { *s = st })
}

func setProductStatus(p *lifecyclev1alpha1.AIProduct, edit func(*lifecyclev1alpha1.AIProductStatus)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		got := &lifecyclev1alpha1.AIProduct{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		edit(&got.Status)
		g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

func createVersion(p *lifecyclev1alpha1.AIProduct, name string) {
	GinkgoHelper()
	mv := &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product: lifecyclev1alpha1.LocalObjectName(p.Name), Version: "1.0.0",
			Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/" + name},
		},
	}
	Expect(k8sClient.Create(ctx, mv)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, mv) })
}

// sandbox is a Sandbox experiment of 10s measured every 5s.
func sandbox(name, candidate string, criteria ...lifecyclev1alpha1.SuccessCriterion) lifecyclev1alpha1.DiscoveryExperiment {
	return lifecyclev1alpha1.DiscoveryExperiment{
		Name: name, Type: lifecyclev1alpha1.ExperimentSandbox, ModelVersion: lifecyclev1alpha1.LocalObjectName(candidate),
		Duration: metav1.Duration{Duration: 10 * time.Second}, Interval: metav1.Duration{Duration: 5 * time.Second},
		SuccessCriteria: criteria,
	}
}

func auc(threshold lifecyclev1alpha1.Decimal) lifecyclev1alpha1.SuccessCriterion {
	return lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc{product=$product, version=$version}",
		Threshold: threshold, Direction: lifecyclev1alpha1.AtLeast}
}

// aucQuery is auc's query as the operator sends it for one version.
func aucQuery(p *lifecyclev1alpha1.AIProduct, version string) string {
	return fmt.Sprintf("auc{product=%q, version=%q}", p.Name, version)
}

// createExperiment creates the Experiment of p's experiment e as the
// product reconciler does: named <product>-<experiment>, labelled, and
// controlled by the product.
func createExperiment(p *lifecyclev1alpha1.AIProduct, e lifecyclev1alpha1.DiscoveryExperiment) *lifecyclev1alpha1.Experiment {
	GinkgoHelper()
	// Declared by its product, as the product's own would be: one it does
	// not declare is deleted.
	Eventually(func(g Gomega) {
		got := &lifecyclev1alpha1.AIProduct{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		if got.Spec.Discovery == nil {
			got.Spec.Discovery = &lifecyclev1alpha1.DiscoverySpec{}
		}
		got.Spec.Discovery.Experiments = append(got.Spec.Discovery.Experiments, e)
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		*p = *got
	}).Should(Succeed())
	exp := &lifecyclev1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-" + e.Name, Namespace: p.Namespace,
			Labels: map[string]string{lifecyclev1alpha1.LabelProduct: p.Name}},
		Spec: lifecyclev1alpha1.ExperimentSpec{Product: lifecyclev1alpha1.LocalObjectName(p.Name), DiscoveryExperiment: e},
	}
	Expect(controllerutil.SetControllerReference(p, exp, scheme)).To(Succeed())
	Expect(k8sClient.Create(ctx, exp)).To(Succeed())
	// No garbage collector runs in envtest.
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, exp) })
	return exp
}

func editExperiment(exp *lifecyclev1alpha1.Experiment, edit func(*lifecyclev1alpha1.DiscoveryExperiment)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		got := fetch(g, exp)
		edit(&got.Spec.DiscoveryExperiment)
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

func fetch(g Gomega, exp *lifecyclev1alpha1.Experiment) *lifecyclev1alpha1.Experiment {
	out := &lifecyclev1alpha1.Experiment{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(exp), out)).To(Succeed())
	return out
}

func condition(conds []metav1.Condition, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return *c
	}
	return metav1.Condition{Type: typ, Status: "absent"}
}

func deployment(p *lifecyclev1alpha1.AIProduct, experiment string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ObjectName(p.Name, experiment)}, d)
	return d, err
}

func service(p *lifecyclev1alpha1.AIProduct, experiment string) (*corev1.Service, error) {
	svc := &corev1.Service{}
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ObjectName(p.Name, experiment)}, svc)
	return svc, err
}

// expectGone asserts that neither the Deployment nor the Service of the
// experiment exists.
func expectGone(g Gomega, p *lifecyclev1alpha1.AIProduct, experiment string) {
	_, err := deployment(p, experiment)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Deployment: %v", err)
	_, err = service(p, experiment)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Service: %v", err)
}

// controlledBy asserts that obj's controller is the Experiment.
func controlledBy(g Gomega, obj metav1.Object, exp *lifecyclev1alpha1.Experiment) {
	ref := metav1.GetControllerOf(obj)
	g.Expect(ref).NotTo(BeNil())
	g.Expect(ref.Kind).To(Equal(lifecyclev1alpha1.KindExperiment))
	g.Expect(ref.Name).To(Equal(exp.Name))
	g.Expect(ref.UID).To(Equal(exp.UID))
}

// events are the Events about obj, as `kubectl events --for` shows them.
func eventsOf(obj client.Object) []eventsv1.Event {
	var list eventsv1.EventList
	ExpectWithOffset(1, k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			out = append(out, e)
		}
	}
	return out
}

// eventTypes maps each reason of obj's Events to its type.
func eventTypes(obj client.Object) map[string]string {
	out := map[string]string{}
	for _, e := range eventsOf(obj) {
		out[e.Reason] = e.Type
	}
	return out
}

// started counts the ExperimentStarted Events of obj, with their repeats.
func started(obj client.Object) int {
	n := 0
	for _, e := range eventsOf(obj) {
		if e.Reason == "ExperimentStarted" {
			n++
			if e.Series != nil {
				n += int(e.Series.Count) - 1
			}
		}
	}
	return n
}

func expectRunning(g Gomega, got *lifecyclev1alpha1.Experiment) {
	g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning))
	g.Expect(got.Status.StartedAt).NotTo(BeNil())
	g.Expect(got.Status.Message).To(HavePrefix("running until "))
	ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonExperimentRunning))
	g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
}

func expectWaiting(g Gomega, got *lifecyclev1alpha1.Experiment, message string) {
	g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentWaiting))
	g.Expect(got.Status.Message).To(Equal(message))
	g.Expect(got.Status.StartedAt).To(BeNil())
	ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonExperimentWaiting))
	g.Expect(ready.Message).To(Equal(message))
	reconciling := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReconciling)
	g.Expect(reconciling.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(reconciling.Reason).To(Equal(lifecyclev1alpha1.ReasonExperimentWaiting))
}

func expectFinished(g Gomega, got *lifecyclev1alpha1.Experiment, verdict lifecyclev1alpha1.ExperimentVerdict) {
	g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentFinished))
	g.Expect(got.Status.Verdict).To(Equal(verdict))
	g.Expect(got.Status.FinishedAt).NotTo(BeNil())
	ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "Finished is Ready whatever the verdict")
	g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonExperimentFinished))
	g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionStatus("absent")))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
}

// ranFor is how long a finished experiment ran by its own record.
func ranFor(got *lifecyclev1alpha1.Experiment) time.Duration {
	return got.Status.FinishedAt.Sub(got.Status.StartedAt.Time)
}

var _ = Describe("Experiment controller", func() {
	It("runs a Sandbox experiment: owns its candidate's objects, measures it, and records a Succeeded verdict", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		fakeProm.Set(aucQuery(p, candidate), 0.91)
		fakeProm.Set(fmt.Sprintf("requests{version=%q}", candidate), 500)
		e := sandbox("sandbox", candidate, auc("0.8"))
		e.SampleQuery, e.MinSamples = "requests{version=$version}", ptr.To[int64](100)
		exp := createExperiment(p, e)

		By("starting it with its own Deployment and Service, controlled by the Experiment")
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.Traffic).To(Equal(lifecyclev1alpha1.TrafficNone))
			d, err := deployment(p, "sandbox")
			g.Expect(err).NotTo(HaveOccurred())
			controlledBy(g, d, got)
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(serving.LabelComponent, ComponentExperiment))
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelExperiment, "sandbox"))
			g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "MODEL_URI", Value: "s3://models/" + candidate}))
			svc, err := service(p, "sandbox")
			g.Expect(err).NotTo(HaveOccurred())
			controlledBy(g, svc, got)
			g.Expect(svc.Spec.Selector).To(HaveKeyWithValue(lifecyclev1alpha1.LabelExperiment, "sandbox"))
		}).Should(Succeed())

		By("measuring it an interval later")
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning))
			g.Expect(got.Status.LastEvaluated).NotTo(BeNil())
			g.Expect(got.Status.Criteria).To(ConsistOf(lifecyclev1alpha1.CriterionStatus{Name: "auc", Value: "0.91", Result: lifecyclev1alpha1.ResultMet}))
			g.Expect(got.Status.CandidateSamples).To(Equal(lifecyclev1alpha1.Decimal("500")))
		}).Should(Succeed())

		By("judging it when its duration is over and removing its objects")
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectFinished(g, got, lifecyclev1alpha1.VerdictSucceeded)
			g.Expect(got.Status.Message).To(Equal("all 1 criteria met"))
			g.Expect(got.Status.Criteria).To(ConsistOf(lifecyclev1alpha1.CriterionStatus{Name: "auc", Value: "0.91", Result: lifecyclev1alpha1.ResultMet}))
			g.Expect(ranFor(got)).To(BeNumerically(">=", 10*time.Second))
			g.Expect(ranFor(got)).To(BeNumerically("<=", 13*time.Second))
			expectGone(g, p, "sandbox")
		}, 30*time.Second).Should(Succeed())
		Eventually(func() map[string]string { return eventTypes(exp) }).Should(And(
			HaveKeyWithValue("ExperimentStarted", corev1.EventTypeNormal),
			HaveKeyWithValue("ExperimentSucceeded", corev1.EventTypeNormal)))
	})

	It("fails an ABTest whose criterion misses, naming the criterion, with a Warning", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery, ProductionVersion: "prod", LiveExperiment: "ab"})
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		fakeProm.Set(fmt.Sprintf("ctr{product=%q, version=%q}", p.Name, candidate), 0.09)
		fakeProm.Set(fmt.Sprintf("ctr{product=%q, version=%q}", p.Name, "prod"), 0.10)
		fakeProm.Set(fmt.Sprintf("requests{product=%q, version=%q}", p.Name, "prod"), 1200)
		e := lifecyclev1alpha1.DiscoveryExperiment{
			Name: "ab", Type: lifecyclev1alpha1.ExperimentABTest, ModelVersion: lifecyclev1alpha1.LocalObjectName(candidate),
			Duration: metav1.Duration{Duration: 10 * time.Second}, Interval: metav1.Duration{Duration: 5 * time.Second},
			TrafficPercent: ptr.To[int32](20), SampleQuery: "requests{product=$product, version=$version}",
			SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{{Name: "ctr", Query: "ctr{product=$product, version=$version}",
				Threshold: "0.05", Direction: lifecyclev1alpha1.AtLeast, CompareToControl: true}},
		}
		exp := createExperiment(p, e)

		By("splitting traffic by replicas: the product's Service selects the candidate's pods")
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.Traffic).To(Equal(lifecyclev1alpha1.TrafficSplit))
			d, err := deployment(p, "ab")
			g.Expect(err).NotTo(HaveOccurred())
			controlledBy(g, d, got)
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(serving.LabelComponent, serving.ComponentModel))
			_, err = service(p, "ab")
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectFinished(g, got, lifecyclev1alpha1.VerdictFailed)
			g.Expect(got.Status.Message).To(Equal("criterion ctr: candidate 0.09 against production 0.1, must be at least 0.05 relative"))
			g.Expect(got.Status.Criteria).To(ConsistOf(lifecyclev1alpha1.CriterionStatus{
				Name: "ctr", Value: "0.09", ControlValue: "0.1", Result: lifecyclev1alpha1.ResultMissed}))
			g.Expect(got.Status.ControlSamples).To(Equal(lifecyclev1alpha1.Decimal("1200")))
			expectGone(g, p, "ab")
		}, 30*time.Second).Should(Succeed())
		Eventually(func() map[string]string { return eventTypes(exp) }).Should(HaveKeyWithValue("ExperimentFailed", corev1.EventTypeWarning))
	})

	It("keeps a Shadow experiment waiting while the product gives live traffic to another, and starts it when it names this one", func() {
		p := newProduct()
		p.Spec.Delivery.Serving.HTTPRoute = &lifecyclev1alpha1.HTTPRouteRef{Name: "web"}
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery, ProductionVersion: "prod", LiveExperiment: "other"})
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		e := lifecyclev1alpha1.DiscoveryExperiment{
			Name: "shadow", Type: lifecyclev1alpha1.ExperimentShadow, ModelVersion: lifecyclev1alpha1.LocalObjectName(candidate),
			Duration: metav1.Duration{Duration: time.Hour}, Interval: metav1.Duration{Duration: time.Minute},
			SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{auc("0.8")},
		}
		exp := createExperiment(p, e)

		const waits = "waits for experiment other: one live-traffic experiment at a time"
		Eventually(func(g Gomega) { expectWaiting(g, fetch(g, exp), waits) }).Should(Succeed())
		Consistently(func(g Gomega) {
			expectWaiting(g, fetch(g, exp), waits)
			expectGone(g, p, "shadow")
		}, 2*time.Second).Should(Succeed())

		By("starting when the product names it")
		setProductStatus(p, func(s *lifecyclev1alpha1.AIProductStatus) { s.LiveExperiment = "shadow" })
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.Traffic).To(Equal(lifecyclev1alpha1.TrafficMirrored))
			g.Expect(got.Status.Message).NotTo(ContainSubstring("no live traffic"))
			_, err := deployment(p, "shadow")
			g.Expect(err).NotTo(HaveOccurred())
			_, err = service(p, "shadow")
			g.Expect(err).NotTo(HaveOccurred())
		}).Should(Succeed())

		By("stopping when the product hands live traffic to another")
		setProductStatus(p, func(s *lifecyclev1alpha1.AIProductStatus) { s.LiveExperiment = "other" })
		Eventually(func(g Gomega) {
			expectWaiting(g, fetch(g, exp), waits)
			expectGone(g, p, "shadow")
		}).Should(Succeed())
		Eventually(func() map[string]string { return eventTypes(exp) }).Should(HaveKey("ExperimentStopped"))
	})

	It("keeps an ABTest waiting, saying why, while the product has no production version", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery, LiveExperiment: "ab"})
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		exp := createExperiment(p, lifecyclev1alpha1.DiscoveryExperiment{
			Name: "ab", Type: lifecyclev1alpha1.ExperimentABTest, ModelVersion: lifecyclev1alpha1.LocalObjectName(candidate),
			Duration: metav1.Duration{Duration: time.Hour}, Interval: metav1.Duration{Duration: time.Minute},
			TrafficPercent:  ptr.To[int32](10),
			SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{auc("0.8")},
		})

		const waits = "an ABTest needs a production version to compare with (A); the product has none yet"
		Eventually(func(g Gomega) { expectWaiting(g, fetch(g, exp), waits) }).Should(Succeed())
		Consistently(func(g Gomega) {
			expectWaiting(g, fetch(g, exp), waits)
			expectGone(g, p, "ab")
		}, 2*time.Second).Should(Succeed())

		By("starting once production serves a version")
		setProductStatus(p, func(s *lifecyclev1alpha1.AIProductStatus) { s.ProductionVersion = "prod" })
		Eventually(func(g Gomega) {
			expectRunning(g, fetch(g, exp))
			_, err := deployment(p, "ab")
			g.Expect(err).NotTo(HaveOccurred())
		}).Should(Succeed())
	})

	It("waits for a missing candidate ModelVersion and starts once it is created", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		candidate := p.Name + "-v2"
		exp := createExperiment(p, sandbox("sandbox", candidate, auc("0.8")))

		waits := "waiting for ModelVersion " + candidate
		Eventually(func(g Gomega) {
			expectWaiting(g, fetch(g, exp), waits)
			expectGone(g, p, "sandbox")
		}).Should(Succeed())

		createVersion(p, candidate)
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			d, err := deployment(p, "sandbox")
			g.Expect(err).NotTo(HaveOccurred())
			controlledBy(g, d, got)
		}).Should(Succeed())
	})

	It("waits for its product, and runs only if that product controls it", func() {
		p := newProduct()
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		exp := &lifecyclev1alpha1.Experiment{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-sandbox", Namespace: p.Namespace},
			Spec: lifecyclev1alpha1.ExperimentSpec{Product: lifecyclev1alpha1.LocalObjectName(p.Name),
				DiscoveryExperiment: sandbox("sandbox", candidate, auc("0.8"))},
		}
		Expect(k8sClient.Create(ctx, exp)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, exp) })

		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentWaiting))
			g.Expect(got.Status.Message).To(Equal("waiting for AIProduct " + p.Name))
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonProductNotFound))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		By("written by hand, not by its product: it never runs")
		// The product's arrival wakes the Experiments it declares; one
		// written by hand before it is looked at again within a minute,
		// one written after it at once.
		byHand := exp.DeepCopy()
		byHand.ObjectMeta = metav1.ObjectMeta{Name: p.Name + "-by-hand", Namespace: p.Namespace}
		Expect(k8sClient.Create(ctx, byHand)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, byHand) })
		Eventually(func(g Gomega) {
			got := fetch(g, byHand)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentWaiting))
			g.Expect(got.Status.Message).To(ContainSubstring("only the Experiments AIProduct " + p.Name + " creates"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			_, err := deployment(p, "sandbox")
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
		}, 2*time.Second).Should(Succeed())

	})

	It("deletes an Experiment its product no longer declares, and none it does", func() {
		p := newProduct()
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		kept := createExperiment(p, sandbox("kept", candidate, auc("0.8")))
		dropped := createExperiment(p, sandbox("dropped", candidate, auc("0.8")))
		Eventually(func(g Gomega) { g.Expect(fetch(g, dropped).Status.Phase).NotTo(BeEmpty()) }).Should(Succeed())

		Eventually(func(g Gomega) {
			got := &lifecyclev1alpha1.AIProduct{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			got.Spec.Discovery.Experiments = got.Spec.Discovery.Experiments[:1]
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(dropped), &lifecyclev1alpha1.Experiment{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the dropped Experiment is deleted")
		}).Should(Succeed())
		Consistently(func(g Gomega) { fetch(g, kept) }, 2*time.Second).Should(Succeed())
	})

	It("keeps running across an operator restart from its recorded start, and ends on time", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		candidate := p.Name + "-v2"
		createVersion(p, candidate)
		fakeProm.Set(aucQuery(p, candidate), 0.95)
		exp := createExperiment(p, sandbox("sandbox", candidate, auc("0.8")))

		var startedAt metav1.Time
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			startedAt = *got.Status.StartedAt
		}).Should(Succeed())

		By("stopping the operator for a few seconds mid-run")
		stopManager()
		time.Sleep(4 * time.Second)
		startManager()

		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectFinished(g, got, lifecyclev1alpha1.VerdictSucceeded)
			g.Expect(got.Status.StartedAt.Time).To(BeTemporally("==", startedAt.Time), "not started again from zero")
			g.Expect(ranFor(got)).To(BeNumerically(">=", 10*time.Second))
			g.Expect(ranFor(got)).To(BeNumerically("<=", 13*time.Second))
			expectGone(g, p, "sandbox")
		}, 30*time.Second).Should(Succeed())
		Expect(started(exp)).To(Equal(1))
	})

	It("writes an Experiment's status as the operator alone", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		candidate := p.Name + "-v2"
		exp := createExperiment(p, sandbox("sandbox", candidate, auc("0.8")))
		Eventually(func(g Gomega) { g.Expect(fetch(g, exp).Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentWaiting)) }).Should(Succeed())
		createVersion(p, candidate)
		Eventually(func(g Gomega) { g.Expect(fetch(g, exp).Status.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning)) }).Should(Succeed())

		got := &lifecyclev1alpha1.Experiment{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(exp), got)).To(Succeed())
		statusWriters := map[string]bool{}
		for _, m := range got.ManagedFields {
			if m.Subresource == "status" {
				statusWriters[m.Manager] = true
			} else {
				Expect(m.Manager).To(Equal("experiment-suite"), "the spec is the product's (here the suite's)")
			}
		}
		Expect(statusWriters).To(Equal(map[string]bool{operatorName: true}))
	})

	It("keeps a running experiment running through a change of its criteria, and restarts it for a new candidate", func() {
		p := newProduct()
		createProduct(p, lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery})
		v2, v3 := p.Name+"-v2", p.Name+"-v3"
		createVersion(p, v2)
		createVersion(p, v3)
		fakeProm.Set(aucQuery(p, v2), 0.85)
		e := sandbox("sandbox", v2, auc("0.8"))
		e.Duration = metav1.Duration{Duration: time.Hour}
		exp := createExperiment(p, e)

		var startedAt metav1.Time
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.Criteria).To(ConsistOf(lifecyclev1alpha1.CriterionStatus{Name: "auc", Value: "0.85", Result: lifecyclev1alpha1.ResultMet}))
			startedAt = *got.Status.StartedAt
		}).Should(Succeed())

		By("judging by the new threshold from the next measurement on")
		editExperiment(exp, func(e *lifecyclev1alpha1.DiscoveryExperiment) { e.SuccessCriteria[0].Threshold = "0.9" })
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.StartedAt.Time).To(BeTemporally("==", startedAt.Time))
			g.Expect(got.Status.Criteria).To(ConsistOf(lifecyclev1alpha1.CriterionStatus{Name: "auc", Value: "0.85", Result: lifecyclev1alpha1.ResultMissed}))
		}).Should(Succeed())

		By("restarting with the new candidate's objects")
		editExperiment(exp, func(e *lifecyclev1alpha1.DiscoveryExperiment) { e.ModelVersion = lifecyclev1alpha1.LocalObjectName(v3) })
		Eventually(func(g Gomega) {
			got := fetch(g, exp)
			expectRunning(g, got)
			g.Expect(got.Status.StartedAt.Time).To(BeTemporally(">", startedAt.Time))
			g.Expect(got.Status.Criteria).To(BeEmpty(), "nothing measured of the new candidate yet")
			d, err := deployment(p, "sandbox")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelVersion, v3))
			g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "MODEL_URI", Value: "s3://models/" + v3}))
		}).Should(Succeed())
		Eventually(func() map[string]string { return eventTypes(exp) }).Should(HaveKey("ExperimentRestarted"))
	})
})
