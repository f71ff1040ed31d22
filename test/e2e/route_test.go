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
	"context"
	"encoding/json"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// teamRoute is the team's HTTPRoute as git declares it: a host, a parent,
// the predict rule the product's versions serve (its path, a header filter
// and a timeout are the team's), and a health rule the product never
// touches.
const teamRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: e2e-route, namespace: default, labels: {e2e: aipm}}
spec:
  hostnames: [fraud.example.com]
  parentRefs: [{name: public-gateway, sectionName: https}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/predict}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Team, value: risk}]}
    timeouts: {request: 10s}
    backendRefs: [{name: rules-engine, port: 8080}]
  - matches: [{path: {type: Exact, value: /healthz}}]
    backendRefs: [{name: health, port: 8080}]
`

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// routeWatch follows the route and, at every version of it the API server
// records, checks that each Service its rules send traffic to exists.
type routeWatch struct {
	mu      sync.Mutex
	missing []string
	seen    int
	stop    context.CancelFunc
	done    chan struct{}
}

func watchRoute(name string) *routeWatch {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	dyn, err := dynamic.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	w, err := dyn.Resource(httpRoutes).Namespace("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	Expect(err).NotTo(HaveOccurred())
	r := &routeWatch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			obj, ok := ev.Object.(interface{ UnstructuredContent() map[string]any })
			if !ok {
				continue
			}
			rules, _ := obj.UnstructuredContent()["spec"].(map[string]any)["rules"].([]any)
			r.mu.Lock()
			r.seen++
			for _, rule := range rules {
				refs, _ := rule.(map[string]any)["backendRefs"].([]any)
				for _, ref := range refs {
					svc, _ := ref.(map[string]any)["name"].(string)
					if !strings.HasPrefix(svc, "e2e-route-") {
						continue // the team's own backends are theirs to run
					}
					if _, err := cs.CoreV1().Services("default").Get(ctx, svc, metav1.GetOptions{}); apierrors.IsNotFound(err) {
						GinkgoWriter.Printf("route: rule sends traffic to Service %s, which does not exist\n", svc)
						r.missing = append(r.missing, svc)
					}
				}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

// Missing stops the watch and returns the Services a route version named
// that did not exist.
func (r *routeWatch) Missing() []string {
	r.stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	GinkgoWriter.Printf("route: %d versions of the route seen\n", r.seen)
	return r.missing
}

// routeSpec reads the route's spec as the API server holds it.
func routeSpec() map[string]any {
	GinkgoHelper()
	var route struct {
		Spec map[string]any `json:"spec"`
	}
	Expect(json.Unmarshal([]byte(kubectl("get", "httproute/e2e-route", "-n", "default", "-o", "json")), &route)).To(Succeed())
	return route.Spec
}

var _ = Describe("A team's HTTPRoute", Ordered, func() {
	It("keeps the team's fields while the operator rolls a version out on it, and never routes to a missing Service", func() {
		const name = "e2e-route"
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		simSetSeen("model_ctr", labels(name, name+"-v1"), 0.08)
		simSetSeen("model_error_ratio", labels(name, name+"-v2"), 0.001)
		apply(teamRoute)
		before := routeSpec()
		routed := strings.Replace(fraudNamed(name, "Delivery", name+"-v1", "", "      steps:\n      - setWeight: 50\n      - pause: {duration: 2s}\n"),
			"    serving:\n", "    serving:\n      httpRoute: {name: e2e-route}\n", 1)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + routed)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		Eventually(func() string { return jsonpath("deploy", name+"-v1", ".status.availableReplicas") }).Should(Equal("4"))

		watch := watchRoute(name)
		capacity := watchCapacity(name, 4)
		apply(version(name, name+"-v2", "2.0.0", "0.95"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(strings.Replace(routed, "modelVersion: {name: "+name+"-v1}", "modelVersion: {name: "+name+"-v2}", 1))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Eventually(func() string { out, _ := kubectlMaybe("get", "svc/"+name+"-v1", "-n", "default"); return out }).Should(ContainSubstring("NotFound"))
		Expect(watch.Missing()).To(BeEmpty(), "no version of the route sent traffic to a Service that did not exist")
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4))

		By("the team's fields are as git declares them; the predict rule's backends are the operator's")
		after := routeSpec()
		Expect(after["hostnames"]).To(Equal(before["hostnames"]))
		Expect(after["parentRefs"]).To(Equal(before["parentRefs"]))
		beforeRules, afterRules := before["rules"].([]any), after["rules"].([]any)
		Expect(afterRules).To(HaveLen(2))
		Expect(afterRules[1]).To(Equal(beforeRules[1]), "the health rule is untouched")
		predictBefore, predictAfter := beforeRules[0].(map[string]any), afterRules[0].(map[string]any)
		for _, field := range []string{"matches", "filters", "timeouts"} {
			Expect(predictAfter[field]).To(Equal(predictBefore[field]), "the predict rule's %s", field)
		}
		Expect(predictAfter["backendRefs"]).To(ConsistOf(And(HaveKeyWithValue("name", name+"-v2"), HaveKeyWithValue("weight", BeNumerically("==", 100)))))
		kubectl("delete", "aip/"+name, "-n", "default", "--wait=false")
	})
})
