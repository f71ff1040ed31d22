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
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

func experimentOf(name string, typ lifecyclev1alpha1.ExperimentType, candidate string, criteria ...lifecyclev1alpha1.SuccessCriterion) lifecyclev1alpha1.DiscoveryExperiment {
	return lifecyclev1alpha1.DiscoveryExperiment{Name: name, Type: typ, ModelVersion: lifecyclev1alpha1.LocalObjectName(candidate),
		Duration: metav1.Duration{Duration: 10 * time.Second}, Interval: metav1.Duration{Duration: 5 * time.Second},
		SuccessCriteria: criteria}
}

// expStatus reads the status of the product's Experiment name; empty when
// it does not exist (yet).
func expStatus(g Gomega, p *lifecyclev1alpha1.AIProduct, name string) lifecyclev1alpha1.ExperimentStatus {
	e := &lifecyclev1alpha1.Experiment{}
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, name)}, e)
	if apierrors.IsNotFound(err) {
		return lifecyclev1alpha1.ExperimentStatus{}
	}
	g.Expect(err).NotTo(HaveOccurred())
	return e.Status
}

// expState is an experiment's phase, or its verdict once it has finished.
func expState(g Gomega, p *lifecyclev1alpha1.AIProduct, name string) string {
	st := expStatus(g, p, name)
	if st.Phase == lifecyclev1alpha1.ExperimentFinished {
		return string(st.Verdict)
	}
	return string(st.Phase)
}

func getDeployment(name string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	return d, k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, d)
}

// loadSample reads the objects of a file in config/samples.
func loadSample(file string) []*unstructured.Unstructured {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", file))
	Expect(err).NotTo(HaveOccurred())
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			break
		}
		if len(obj.Object) > 0 {
			obj.SetNamespace("default")
			out = append(out, obj)
		}
	}
	return out
}

var _ = Describe("Discovery experiments", func() {
	It("moves the sandbox sample from Discovery to Delivery only once its experiment succeeds", func() {
		objs := loadSample("experiment_sandbox_aiproduct.yaml")
		Expect(objs).To(HaveLen(2))
		// The sample runs for two hours; the test shortens that, and only that.
		exp, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "discovery", "experiments")
		exp[0].(map[string]any)["duration"] = "10s"
		exp[0].(map[string]any)["interval"] = "5s"
		Expect(unstructured.SetNestedSlice(objs[0].Object, exp, "spec", "discovery", "experiments")).To(Succeed())
		for _, o := range objs {
			Expect(k8sClient.Create(ctx, o)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, o) })
		}
		p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "support-router", Namespace: "default"}}
		fakeProm.Set(`avg(replay_top1_accuracy{product="support-router", version="support-router-v0-1-0"})`, 0.9)

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(expState(g, p, "offline-eval")).To(Equal("Running"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate).Reason).To(Equal("NoExperimentSucceeded"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(expState(g, p, "offline-eval")).To(Equal("Succeeded"))
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery))
			g.Expect(got.Status.ProductionVersion).To(Equal("support-router-v0-1-0"))
		}, 40*time.Second).Should(Succeed())
	})

	It("takes the fraud-detector sample through its shadow of the rules engine into Delivery", func() {
		objs := append(loadSample("fraud_detector_route.yaml"), loadSample("delivery_aiproduct.yaml")...)
		objs = append(objs, loadSample("fraud_detector_modelversions.yaml")[0])
		// The sample shadows for an hour; the test shortens that, and only that.
		product := objs[1]
		exp, _, _ := unstructured.NestedSlice(product.Object, "spec", "discovery", "experiments")
		exp[0].(map[string]any)["duration"] = "10s"
		exp[0].(map[string]any)["interval"] = "5s"
		Expect(unstructured.SetNestedSlice(product.Object, exp, "spec", "discovery", "experiments")).To(Succeed())
		for _, o := range objs {
			Expect(k8sClient.Create(ctx, o)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, o) })
		}
		p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "fraud-detector", Namespace: "default"}}
		fakeProm.Set(`histogram_quantile(0.99, sum by (le) (rate(model_request_seconds_bucket{product="fraud-detector", version="fraud-detector-v1-0-0"}[5m])))`, 0.02)
		route := &gatewayv1.HTTPRoute{}
		Eventually(func(g Gomega) {
			g.Expect(expState(g, p, "shadow-v1")).To(Equal("Running"))
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: "payments"}, route)).To(Succeed())
			g.Expect(route.Spec.Rules[0].Filters).To(HaveLen(1))
			g.Expect(string(route.Spec.Rules[0].Filters[0].RequestMirror.BackendRef.Name)).To(Equal(serving.ObjectName("fraud-detector", "exp-shadow-v1")))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(expState(g, p, "shadow-v1")).To(Equal("Succeeded"))
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery))
			g.Expect(got.Status.ProductionVersion).To(Equal("fraud-detector-v1-0-0"))
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: "payments"}, route)).To(Succeed())
			g.Expect(string(route.Spec.Rules[0].BackendRefs[0].Name)).To(Equal(serving.ObjectName("fraud-detector", "fraud-detector-v1-0-0")))
			g.Expect(route.Spec.Rules[0].Filters).To(BeEmpty())
		}, 60*time.Second).Should(Succeed())
	})

	It("runs a sandbox behind its own Service, judges it, removes its objects, and lets the product into Delivery", func() {
		p := deliveryProduct("v1")
		p.Spec.Discovery.Experiments = []lifecyclev1alpha1.DiscoveryExperiment{experimentOf("sandbox", lifecyclev1alpha1.ExperimentSandbox, "v1",
			lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc{version=$version}", Threshold: "0.8", Direction: lifecyclev1alpha1.AtLeast})}
		fakeProm.Set(`auc{version="v1"}`, 0.91)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		eligibleVersion(p, "v1", "1.0.0")
		name := serving.ObjectName(p.Name, "exp-sandbox")

		Eventually(func(g Gomega) {
			st := expStatus(g, p, "sandbox")
			g.Expect(st.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning))
			g.Expect(st.Traffic).To(Equal("None"))
			d, err := getDeployment(name)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(serving.LabelComponent, "experiment"))
			svc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(HaveKeyWithValue(lifecyclev1alpha1.LabelExperiment, "sandbox"))
			g.Expect(fetch(g, p).Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(stageOf(g, &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "v1", Namespace: "default"}})).To(Equal(lifecyclev1alpha1.StageStaging))
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			st := expStatus(g, p, "sandbox")
			g.Expect(st.Verdict).To(Equal(lifecyclev1alpha1.VerdictSucceeded))
			g.Expect(st.Criteria).To(ContainElement(lifecyclev1alpha1.CriterionStatus{Name: "auc", Value: "0.91", Result: lifecyclev1alpha1.ResultMet}))
			g.Expect(st.FinishedAt).NotTo(BeNil())
			_, err := getDeployment(name)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate).Status).To(Equal(metav1.ConditionTrue))
		}, 40*time.Second).Should(Succeed())
		exp := &lifecyclev1alpha1.Experiment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, "sandbox")}, exp)).To(Succeed())
		Eventually(func() []string { return eventReasons(exp) }).Should(ContainElements("ExperimentStarted", "ExperimentSucceeded"))
	})

	It("fails an A/B test whose candidate does worse than production, blocks the gate, and reruns on request", func() {
		p := deliveryProduct("v1")
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		eligibleVersion(p, "v2", "2.0.0")
		eligibleVersion(p, "v3", "3.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		By("moving back to Discovery with an A/B test and a second live-traffic experiment")
		ctr := lifecyclev1alpha1.SuccessCriterion{Name: "ctr", Query: "ctr{version=$version}", Threshold: "0.05", Direction: lifecyclev1alpha1.AtLeast, CompareToControl: true}
		ab := experimentOf("ab", lifecyclev1alpha1.ExperimentABTest, "v2", ctr)
		ab.TrafficPercent = ptr.To[int32](20)
		shadow := experimentOf("shadow-2", lifecyclev1alpha1.ExperimentShadow, "v3", lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc", Threshold: "0.5", Direction: lifecyclev1alpha1.AtLeast})
		fakeProm.Set(`ctr{version="v2"}`, 0.09)
		fakeProm.Set(`ctr{version="v1"}`, 0.10)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Phase = lifecyclev1alpha1.PhaseDiscovery
			got.Spec.Discovery.Experiments = append(got.Spec.Discovery.Experiments, ab, shadow)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"), "production keeps serving in Discovery")
			st := expStatus(g, p, "ab")
			g.Expect(st.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning))
			g.Expect(st.Traffic).To(Equal("Split"))
			waiting := expStatus(g, p, "shadow-2")
			g.Expect(waiting.Phase).To(Equal(lifecyclev1alpha1.ExperimentWaiting))
			g.Expect(waiting.Message).To(Equal("waits for experiment ab: one live-traffic experiment at a time"))
			// B runs under the product's Service: one pod beside A's four is 20%.
			d, err := getDeployment(serving.ObjectName(p.Name, "exp-ab"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(serving.LabelComponent, serving.ComponentModel))
			ds := deployments(g, p)
			g.Expect(ds).To(HaveKey(p.Name + "-v1"))
		}).Should(Succeed())

		Eventually(func(g Gomega) {
			st := expStatus(g, p, "ab")
			g.Expect(st.Verdict).To(Equal(lifecyclev1alpha1.VerdictFailed))
			g.Expect(st.Message).To(Equal("criterion ctr: candidate 0.09 against production 0.1, must be at least 0.05 relative"))
			g.Expect(st.Criteria).To(ContainElement(lifecyclev1alpha1.CriterionStatus{Name: "ctr", Value: "0.09", ControlValue: "0.1", Result: lifecyclev1alpha1.ResultMissed}))
			got := fetch(g, p)
			gate := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate)
			g.Expect(gate.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(gate.Reason).To(Equal("ExperimentFailed"))
			g.Expect(gate.Message).To(ContainSubstring(`experiment "ab" failed: criterion ctr`))
			g.Expect(fetchMV(g, &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "v2", Namespace: "default"}}).Status.Stage).To(Equal(lifecyclev1alpha1.StageRejected))
			_, err := getDeployment(serving.ObjectName(p.Name, "exp-ab"))
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
			g.Expect(expStatus(g, p, "shadow-2").Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning), "the live-traffic slot is free again")
		}, 40*time.Second).Should(Succeed())

		By("a rerun request resets the experiment")
		annotate(p, lifecyclev1alpha1.AnnotationRerun, "ab")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Annotations).NotTo(HaveKey(lifecyclev1alpha1.AnnotationRerun))
			g.Expect(got.Status.LastRequest).NotTo(BeNil())
			g.Expect(got.Status.LastRequest.Action).To(Equal("Rerun"))
			g.Expect(expStatus(g, p, "ab").Phase).To(BeElementOf(lifecyclev1alpha1.ExperimentPending, lifecyclev1alpha1.ExperimentWaiting, lifecyclev1alpha1.ExperimentRunning))
		}).Should(Succeed())
	})

	It("shadows a new product's first version by mirroring the system it replaces, before it has a production version", func() {
		p := deliveryProduct("v1")
		p.Spec.Phase = lifecyclev1alpha1.PhaseDiscovery
		route := routeFor(p)
		port := gatewayv1.PortNumber(8080)
		Eventually(func(g Gomega) {
			got := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
			got.Spec.Rules = []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "rules-engine", Port: &port}}}}}}
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		shadow := experimentOf("legacy", lifecyclev1alpha1.ExperimentShadow, "v1", lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc", Threshold: "0.5", Direction: lifecyclev1alpha1.AtLeast})
		shadow.MirrorFrom = ptr.To(lifecyclev1alpha1.LocalObjectName("rules-engine"))
		shadow.MirrorPercent = ptr.To[int32](50)
		p.Spec.Discovery.Experiments = []lifecyclev1alpha1.DiscoveryExperiment{shadow}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		eligibleVersion(p, "v1", "1.0.0")

		readRule := func(g Gomega) gatewayv1.HTTPRouteRule {
			got := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
			g.Expect(got.Spec.Rules).To(HaveLen(1))
			return got.Spec.Rules[0]
		}
		Eventually(func(g Gomega) {
			st := expStatus(g, p, "legacy")
			g.Expect(st.Traffic).To(Equal("Mirrored"))
			g.Expect(st.Phase).To(Equal(lifecyclev1alpha1.ExperimentRunning))
			rule := readRule(g)
			g.Expect(rule.BackendRefs).To(HaveLen(1), "the team's backend is left alone")
			g.Expect(string(rule.BackendRefs[0].Name)).To(Equal("rules-engine"))
			g.Expect(rule.Filters).To(HaveLen(1))
			g.Expect(string(rule.Filters[0].RequestMirror.BackendRef.Name)).To(Equal(serving.ObjectName(p.Name, "exp-legacy")))
			g.Expect(rule.Filters[0].RequestMirror.Percent).To(Equal(ptr.To[int32](50)))
			g.Expect(fetch(g, p).Status.ProductionVersion).To(BeEmpty())
		}).Should(Succeed())

		By("its end takes the mirror away, and the product may leave Discovery")
		Eventually(func(g Gomega) {
			g.Expect(expStatus(g, p, "legacy").Phase).To(Equal(lifecyclev1alpha1.ExperimentFinished))
			rule := readRule(g)
			g.Expect(rule.Filters).To(BeEmpty())
			g.Expect(string(rule.BackendRefs[0].Name)).To(Equal("rules-engine"))
		}, 40*time.Second).Should(Succeed())
	})

	It("mirrors live traffic to a shadow and routes an A/B header to its candidate on an HTTPRoute", func() {
		p := deliveryProduct("v1")
		route := routeFor(p)
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		eligibleVersion(p, "v2", "2.0.0")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		readRoute := func(g Gomega) *gatewayv1.HTTPRoute {
			got := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
			return got
		}
		long := experimentOf("mirror", lifecyclev1alpha1.ExperimentShadow, "v2", lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc", Threshold: "0.5", Direction: lifecyclev1alpha1.AtLeast})
		long.Duration = metav1.Duration{Duration: time.Hour}
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Phase = lifecyclev1alpha1.PhaseDiscovery
			got.Spec.Discovery.Experiments = append(got.Spec.Discovery.Experiments, long)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		shadowSvc := serving.ObjectName(p.Name, "exp-mirror")
		Eventually(func(g Gomega) {
			g.Expect(expStatus(g, p, "mirror").Traffic).To(Equal("Mirrored"))
			rule := readRoute(g).Spec.Rules[0]
			g.Expect(rule.BackendRefs).To(HaveLen(1))
			g.Expect(string(rule.BackendRefs[0].Name)).To(Equal(p.Name + "-v1"))
			g.Expect(rule.Filters).To(HaveLen(1))
			g.Expect(rule.Filters[0].Type).To(Equal(gatewayv1.HTTPRouteFilterRequestMirror))
			g.Expect(string(rule.Filters[0].RequestMirror.BackendRef.Name)).To(Equal(shadowSvc))
		}).Should(Succeed())

		By("replacing the shadow with a header-matched A/B test")
		ab := experimentOf("beta-users", lifecyclev1alpha1.ExperimentABTest, "v2", lifecyclev1alpha1.SuccessCriterion{Name: "auc", Query: "auc", Threshold: "0.5", Direction: lifecyclev1alpha1.AtLeast})
		ab.TrafficPercent = ptr.To[int32](10)
		ab.HeaderMatch = &lifecyclev1alpha1.HeaderMatch{Name: "x-beta", Value: "true"}
		ab.Duration = metav1.Duration{Duration: time.Hour}
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			var kept []lifecyclev1alpha1.DiscoveryExperiment
			for _, e := range got.Spec.Discovery.Experiments {
				if e.Name != "mirror" {
					kept = append(kept, e)
				}
			}
			got.Spec.Discovery.Experiments = append(kept, ab)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(expStatus(g, p, "beta-users").Traffic).To(Equal("Header"))
			rules := readRoute(g).Spec.Rules
			g.Expect(rules).To(HaveLen(2))
			g.Expect(string(*rules[0].Name)).To(Equal("aipm-experiment"))
			g.Expect(rules[0].Matches[0].Headers[0].Name).To(Equal(gatewayv1.HTTPHeaderName("x-beta")))
			g.Expect(string(rules[0].BackendRefs[0].Name)).To(Equal(serving.ObjectName(p.Name, "exp-beta-users")))
			g.Expect(rules[1].Filters).To(BeEmpty(), "the shadow's mirror is gone with it")
			// The Experiment is gone; its Deployment goes with it by the
			// garbage collector, which envtest does not run.
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, "mirror")}, &lifecyclev1alpha1.Experiment{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
			d, err := getDeployment(shadowSvc)
			if err == nil {
				g.Expect(metav1.GetControllerOf(d).Kind).To(Equal("Experiment"))
			}
		}).Should(Succeed())
	})
})
