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
	"encoding/json"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// kserveProduct is a product in Delivery driving the InferenceService
// <product>-isvc, created here against KServe's own CRD, with annotated
// as its deploymentMode annotation ("" for none).
func kserveProduct(annotated string, steps ...lifecyclev1alpha1.RolloutStep) (*lifecyclev1alpha1.AIProduct, *unstructured.Unstructured) {
	p := deliveryProduct("v1", steps...)
	p.Spec.Delivery.Serving = lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendKServe, Replicas: 1,
		InferenceService: &lifecyclev1alpha1.InferenceServiceRef{Name: lifecyclev1alpha1.LocalObjectName(p.Name + "-isvc")}}
	isvc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"predictor": map[string]any{
		"model": map[string]any{"modelFormat": map[string]any{"name": "sklearn"}, "storageUri": "s3://models/before"}}}}}
	isvc.SetGroupVersionKind(traffic.InferenceServiceGVK)
	isvc.SetNamespace("default")
	isvc.SetName(p.Name + "-isvc")
	if annotated != "" {
		isvc.SetAnnotations(map[string]string{traffic.AnnotationDeploymentMode: annotated})
	}
	Expect(k8sClient.Create(ctx, isvc)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, isvc) })
	return p, isvc
}

// getISVC reads an InferenceService; nil when there is none.
func getISVC(g Gomega, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(traffic.InferenceServiceGVK)
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return u
}

func spec(u *unstructured.Unstructured) (uri string, percent *int64) {
	uri, _, _ = unstructured.NestedString(u.Object, "spec", "predictor", "model", "storageUri")
	if p, found, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "canaryTrafficPercent"); found {
		percent = &p
	}
	return uri, percent
}

// kserveReports writes the status KServe's controller would once it has
// acted on the InferenceService's current generation: its mode, its Ready
// condition and, in Knative mode, the newest revision's share of traffic
// (latest < 0: no traffic block, as in Standard mode).
func kserveReports(g Gomega, name, mode string, isReady bool, latest int64) {
	u := getISVC(g, name)
	g.Expect(u).NotTo(BeNil())
	status := map[string]any{"observedGeneration": u.GetGeneration(), "deploymentMode": mode,
		"conditions": []any{map[string]any{"type": "Ready", "status": map[bool]string{true: "True", false: "False"}[isReady],
			"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z")}}}
	if latest >= 0 {
		status["components"] = map[string]any{"predictor": map[string]any{"traffic": []any{
			map[string]any{"revisionName": name + "-predictor-00002", "latestRevision": true, "percent": latest},
			map[string]any{"revisionName": name + "-predictor-00001", "latestRevision": false, "percent": 100 - latest},
		}}}
	}
	u.Object["status"] = status
	g.Expect(k8sClient.Status().Update(ctx, u)).To(Succeed())
}

// ownedFields lists the leaf fields manager owns on obj, as the API
// server records them in managedFields (dotted, without the f: prefixes).
func ownedFields(obj client.Object, manager string) []string {
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if k == "." {
				continue
			}
			path := strings.TrimPrefix(prefix+"."+strings.TrimPrefix(k, "f:"), ".")
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(path, sub)
				continue
			}
			out = append(out, path)
		}
	}
	for _, e := range obj.GetManagedFields() {
		if e.Manager != manager || e.FieldsV1 == nil {
			continue
		}
		var m map[string]any
		Expect(json.Unmarshal(e.FieldsV1.GetRawBytes(), &m)).To(Succeed())
		walk("", m)
	}
	sort.Strings(out)
	return out
}

var _ = Describe("KServe, by deployment mode, against KServe's CRD", func() {
	pause := lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}}
	at25 := lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](25)}

	It("Knative: splits with canaryTrafficPercent and rolls back by setting it to 0, without a new revision", func() {
		p, isvc := kserveProduct("Serverless", at25, pause)
		enterDelivery(p)
		v1 := eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			uri, percent := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v1.Spec.Artifact.URI))
			g.Expect(percent).To(BeNil())
			kserveReports(g, isvc.GetName(), "Knative", true, 100)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		By("the newest revision gets the step's 25% once KServe reports it")
		Eventually(func(g Gomega) {
			uri, percent := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v2.Spec.Artifact.URI))
			g.Expect(percent).To(Equal(ptr.To[int64](25)))
			kserveReports(g, isvc.GetName(), "Knative", true, 25)
			ro := fetch(g, p).Status.Rollout
			g.Expect(ro.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			g.Expect(ro.EffectiveWeight).To(Equal(int32(25)))
		}).Should(Succeed())

		Expect(ownedFields(getISVC(Default, isvc.GetName()), apply.FieldOwner)).To(Equal([]string{
			"spec.predictor.canaryTrafficPercent", "spec.predictor.model.storageUri"}), "the operator owns its two fields and nothing else of the team's object")

		By("abort: canaryTrafficPercent 0 sends everything back to v1's revision, even with the new one not Ready")
		annotate(p, lifecyclev1alpha1.AnnotationAbort, "bad")
		Eventually(func(g Gomega) {
			uri, percent := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v2.Spec.Artifact.URI), "the rollback starts no new revision")
			g.Expect(percent).To(Equal(ptr.To[int64](0)))
			kserveReports(g, isvc.GetName(), "Knative", false, 0)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
	})

	It("Standard without an HTTPRoute: refuses a partial canary with a reason and leaves the InferenceService on the stable", func() {
		p, isvc := kserveProduct("RawDeployment", at25, pause)
		enterDelivery(p)
		v1 := eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			uri, _ := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v1.Spec.Artifact.URI))
			kserveReports(g, isvc.GetName(), "Standard", true, -1)
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Reason).To(Equal(lifecyclev1alpha1.ReasonRouteRequired))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring("spec.delivery.serving.httpRoute"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			uri, percent := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v1.Spec.Artifact.URI))
			g.Expect(percent).To(BeNil())
			g.Expect(getISVC(g, traffic.CanaryName(isvc.GetName()))).To(BeNil())
		}, "2s").Should(Succeed())
	})

	It("Standard with an HTTPRoute: runs the canary as a second InferenceService and splits on the route", func() {
		p, isvc := kserveProduct("", at25, pause)
		route := routeFor(p)
		enterDelivery(p)
		v1 := eligibleVersion(p, "v1", "1.0.0")
		main, canary := isvc.GetName()+"-predictor", traffic.CanaryName(isvc.GetName())+"-predictor"
		weights := func(g Gomega) map[string]int32 {
			got := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
			out := map[string]int32{}
			for _, ref := range got.Spec.Rules[0].BackendRefs {
				out[string(ref.Name)] = *ref.Weight
				g.Expect(*ref.Port).To(Equal(int32(80)))
			}
			return out
		}
		By("nothing moves until KServe reports the mode")
		Consistently(func(g Gomega) { g.Expect(weights(g)).To(BeEmpty()) }, "1s").Should(Succeed())
		Eventually(func(g Gomega) {
			kserveReports(g, isvc.GetName(), "Standard", true, -1)
			uri, _ := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v1.Spec.Artifact.URI))
			kserveReports(g, isvc.GetName(), "Standard", true, -1)
			g.Expect(weights(g)).To(Equal(map[string]int32{main: 100}))
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())

		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		By("the canary InferenceService serves v2, owned by the product; the route waits for it to be Ready")
		Eventually(func(g Gomega) {
			c := getISVC(g, traffic.CanaryName(isvc.GetName()))
			g.Expect(c).NotTo(BeNil())
			uri, percent := spec(c)
			g.Expect(uri).To(Equal(v2.Spec.Artifact.URI))
			g.Expect(percent).To(BeNil())
			g.Expect(metav1.IsControlledBy(c, fetch(g, p))).To(BeTrue())
			g.Expect(weights(g)).To(Equal(map[string]int32{main: 100}))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			kserveReports(g, traffic.CanaryName(isvc.GetName()), "Standard", true, -1)
			g.Expect(weights(g)).To(Equal(map[string]int32{main: 75, canary: 25}))
			ro := fetch(g, p).Status.Rollout
			g.Expect(ro.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			g.Expect(ro.EffectiveWeight).To(Equal(int32(25)))
		}).Should(Succeed())
		uri, _ := spec(getISVC(Default, isvc.GetName()))
		Expect(uri).To(Equal(v1.Spec.Artifact.URI), "the stable InferenceService is untouched by the canary")

		By("promotion: the canary takes everything while the first InferenceService rolls to v2, then hands back")
		annotate(p, lifecyclev1alpha1.AnnotationPromote, "ok")
		Eventually(func(g Gomega) {
			g.Expect(weights(g)).To(Equal(map[string]int32{canary: 100}))
			uri, _ := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v2.Spec.Artifact.URI))
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v2"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			kserveReports(g, isvc.GetName(), "Standard", true, -1)
			g.Expect(weights(g)).To(Equal(map[string]int32{main: 100}))
			g.Expect(getISVC(g, traffic.CanaryName(isvc.GetName()))).To(BeNil())
			g.Expect(condition(fetch(g, p).Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("a product moved from Deployments to KServe keeps its Deployments and Services until KServe serves it, then removes them", func() {
		p, isvc := kserveProduct("")
		routeFor(p)
		onKServe := *p.Spec.Delivery.Serving.DeepCopy()
		p.Spec.Delivery.Serving = deliveryProduct("v1").Spec.Delivery.Serving
		enterDelivery(p)
		v1 := productionV1(p)
		services := func(g Gomega) []string {
			var list corev1.ServiceList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace("default"), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
			var names []string
			for _, svc := range list.Items {
				if svc.DeletionTimestamp.IsZero() {
					names = append(names, svc.Name)
				}
			}
			return names
		}
		Expect(services(Default)).NotTo(BeEmpty())

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Delivery.Serving = onKServe
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		By("the InferenceService serves production, and the Deployments stay while KServe has not said it is Ready")
		Eventually(func(g Gomega) {
			kserveReports(g, isvc.GetName(), "Standard", false, -1)
			uri, _ := spec(getISVC(g, isvc.GetName()))
			g.Expect(uri).To(Equal(v1.Spec.Artifact.URI))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(deployments(g, p)).To(HaveKey(p.Name + "-v1"))
			g.Expect(services(g)).NotTo(BeEmpty())
		}, "1s").Should(Succeed())

		By("once KServe reports it Ready, the product's own serving objects go")
		Eventually(func(g Gomega) {
			kserveReports(g, isvc.GetName(), "Standard", true, -1)
			g.Expect(deployments(g, p)).To(BeEmpty())
			g.Expect(services(g)).To(BeEmpty())
		}).Should(Succeed())
	})
})
