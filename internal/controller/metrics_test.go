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
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
)

// tokenFor returns a token of a new ServiceAccount, allowed to GET /metrics
// when allowed is true.
func tokenFor(name string, allowed bool) string {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, sa) })
	if allowed {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}}}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, binding); _ = k8sClient.Delete(ctx, role) })
	}
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

// scrape GETs the manager's /metrics with a bearer token.
func scrape(token string) (int, string) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The manager serves a self-signed certificate, as it does in a
		// cluster without cert-manager.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	req, err := http.NewRequest(http.MethodGet, "https://"+metricsAddr+"/metrics", nil)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func parseMetrics(body string) map[string]*dto.MetricFamily {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	return fams
}

// sample finds the value of name with exactly the given labels among them.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		match := 0
		for _, lp := range m.Label {
			if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

var _ = Describe("Metrics endpoint", func() {
	It("serves the operator's metrics over HTTPS to authorized callers only, with values from the reconcile", func() {
		By("refusing anonymous and unauthorized callers")
		// The server starts with the manager; wait for it to answer.
		Eventually(func() int { code, _ := scrape(""); return code }).Should(Equal(http.StatusUnauthorized))
		nobody := tokenFor("metrics-nobody", false)
		Eventually(func() int { code, _ := scrape(nobody); return code }).Should(Equal(http.StatusForbidden))
		token := tokenFor("metrics-reader", true)

		By("a product in Delivery with objectives, drift and a production version")
		p := retrainingProduct()
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")
		fakeProm.Set(fmt.Sprintf(`ctr{product=%q}`, p.Name), 0.07)
		fakeProm.Set(fmt.Sprintf(`psi{product=%q, version="v1"}`, p.Name), 0.12)
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.DriftState).To(Equal("None"))
			g.Expect(got.Status.Objectives).NotTo(BeEmpty())
			g.Expect(got.Status.Objectives[0].Value).To(Equal(lifecyclev1alpha1.Decimal("0.07")))
		}).Should(Succeed())

		ids := map[string]string{"namespace": "default", "product": p.Name}
		with := func(kv ...string) map[string]string {
			out := map[string]string{}
			for k, v := range ids {
				out[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				out[kv[i]] = kv[i+1]
			}
			return out
		}
		var fams map[string]*dto.MetricFamily
		Eventually(func(g Gomega) {
			code, body := scrape(token)
			g.Expect(code).To(Equal(http.StatusOK))
			fams = parseMetrics(body)
			for _, want := range []struct {
				name   string
				labels map[string]string
				value  float64
			}{
				{"aipm_product_phase", with("phase", "Delivery"), 1},
				{"aipm_gate_passed", with("gate", "Discovery"), 1},
				{"aipm_objective_value", with("objective", "ctr"), 0.07},
				{"aipm_objective_target", with("objective", "ctr"), 0.1},
				{"aipm_objective_met", with("objective", "ctr"), 0},
				{"aipm_production_version_info", with("version", "v1"), 1},
				{"aipm_drift_value", with("check", "amount-psi", "feature", "amount"), 0.12},
				{"aipm_drift_threshold", with("check", "amount-psi", "feature", "amount"), 0.2},
				{"aipm_drift_sustained", with("check", "amount-psi", "feature", "amount"), 0},
				{"aipm_model_versions", with("stage", "Production"), 1},
			} {
				v, ok := sample(fams, want.name, want.labels)
				g.Expect(ok).To(BeTrue(), "%s%v is missing", want.name, want.labels)
				g.Expect(v).To(BeNumerically("~", want.value, 1e-9), "%s%v", want.name, want.labels)
			}
			// A state gauge has no series for the states the product is not in.
			_, ok := sample(fams, "aipm_product_phase", with("phase", "Strategy"))
			g.Expect(ok).To(BeFalse(), "aipm_product_phase has a series for a phase the product is not in")
			age, ok := sample(fams, "aipm_production_model_age_seconds", with("version", "v1"))
			g.Expect(ok).To(BeTrue())
			g.Expect(age).To(BeNumerically(">=", 0))
		}).Should(Succeed())
		Expect(fams).To(HaveKey("controller_runtime_reconcile_total"))

		By("the product's series disappearing with the product")
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Eventually(func(g Gomega) {
			_, body := scrape(token)
			g.Expect(body).NotTo(ContainSubstring(`product="` + p.Name + `"`))
		}).Should(Succeed())
	})

	It("exports every metric the dashboards and alerts may use, with base-unit names", func() {
		for _, name := range metrics.Names() {
			Expect(name).To(HavePrefix("aipm_"))
			Expect(name).NotTo(MatchRegexp(`_(ms|milliseconds|percent)$`))
		}
	})
})
