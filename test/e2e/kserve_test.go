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
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/aipm-io/aipm-operator/internal/testenv"
)

// startKServe installs KServe's CRDs, its configuration and the sklearn
// runtime from the KServe module, registers its InferenceService webhooks
// and runs its own controller manager, built from the module proxy,
// beside the cluster. It returns the manager's process.
func startKServe() *exec.Cmd {
	GinkgoHelper()
	manager := builtBinary("kserve-controller")
	mod, err := testenv.ModuleDir("github.com/kserve/kserve", testenv.KServeVersion)
	Expect(err).NotTo(HaveOccurred())

	By("KServe's CRDs, its inferenceservice-config (Standard by default) and its sklearn runtime, as its release ships them")
	Expect(filepath.WalkDir(filepath.Join(mod, "config", "crd", "full"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "serving.kserve.io_") {
			kubectl("apply", "--server-side", "-f", path)
		}
		return err
	})).To(Succeed())
	waitEstablished("inferenceservices.serving.kserve.io")
	if _, err := kubectlMaybe("get", "ns", "kserve"); err != nil {
		kubectl("create", "namespace", "kserve")
	}
	config, err := os.ReadFile(filepath.Join(mod, "config", "configmap", "inferenceservice.yaml"))
	Expect(err).NotTo(HaveOccurred())
	standard := strings.ReplaceAll(string(config), `"defaultDeploymentMode": "Serverless"`, `"defaultDeploymentMode": "Standard"`)
	Expect(standard).NotTo(Equal(string(config)), "KServe's shipped configuration names its default mode")
	apply(standard)
	kubectl("apply", "-f", filepath.Join(mod, "config", "runtimes", "kserve-sklearnserver.yaml"))

	By("its webhooks, served over TLS on this machine, defaulting and validating InferenceServices")
	certDir := filepath.Join(workDir, "kserve-tmp", "k8s-webhook-server", "serving-certs")
	Expect(os.MkdirAll(certDir, 0o700)).To(Succeed())
	ca, cert, key := selfSignedCA(certDir)
	Expect(os.Rename(cert, filepath.Join(certDir, "tls.crt"))).To(Succeed())
	Expect(os.Rename(key, filepath.Join(certDir, "tls.key"))).To(Succeed())
	caPEM, err := os.ReadFile(ca)
	Expect(err).NotTo(HaveOccurred())
	webhookAddr := freePort()
	port := webhookAddr[strings.LastIndex(webhookAddr, ":")+1:]
	hook := func(kind, path string) string {
		return `
apiVersion: admissionregistration.k8s.io/v1
kind: ` + kind + `
metadata: {name: e2e-kserve-inferenceservice}
webhooks:
- name: inferenceservice.kserve-webhook-server.e2e
  clientConfig: {url: "https://127.0.0.1:` + port + path + `", caBundle: ` + base64.StdEncoding.EncodeToString(caPEM) + `}
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1, v1beta1]
  rules: [{apiGroups: [serving.kserve.io], apiVersions: [v1beta1], operations: [CREATE, UPDATE], resources: [inferenceservices]}]
`
	}

	// The webhook server reads its certificate from the temporary
	// directory; POD_NAMESPACE is where it finds its configuration.
	cmd := startWith([]string{"TMPDIR=" + filepath.Join(workDir, "kserve-tmp"), "POD_NAMESPACE=kserve"},
		manager, "--metrics-addr", freePort(), "--health-probe-addr", freePort(), "--webhook-port", port)
	apply(hook("MutatingWebhookConfiguration", "/mutate-serving-kserve-io-v1beta1-inferenceservice") + "---" +
		hook("ValidatingWebhookConfiguration", "/validate-serving-kserve-io-v1beta1-inferenceservice"))
	return cmd
}

// stopKServe stops KServe's manager and removes its webhooks, so that the
// scenarios after this one create no InferenceService it would refuse.
func stopKServe(cmd *exec.Cmd) {
	// KServe's finalizer holds an InferenceService until its controller
	// has let it go, so they go while it runs.
	_ = runMaybe(kubectlBin, "delete", "inferenceservices", "--all", "-n", "default", "--timeout", "60s")
	_ = runMaybe(kubectlBin, "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", "e2e-kserve-inferenceservice", "--ignore-not-found")
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
}

// routeWeights reads the backends of the route's first rule and their
// weights.
func routeWeights(name string) map[string]float64 {
	out := jsonpath("httproute", name, ".spec.rules[0].backendRefs")
	if out == "" {
		return nil
	}
	var refs []struct {
		Name   string  `json:"name"`
		Weight float64 `json:"weight"`
	}
	Expect(json.Unmarshal([]byte(out), &refs)).To(Succeed())
	w := map[string]float64{}
	for _, r := range refs {
		w[r.Name] = r.Weight
	}
	return w
}

var _ = Describe("KServe's own controller", Ordered, Label("kserve"), func() {
	var kserve *exec.Cmd
	BeforeAll(func() {
		kserve = startKServe()
		// The operator watches InferenceServices only where their CRD
		// exists when it starts.
		stopSuiteOperator()
		startSuiteOperator()
		DeferCleanup(func() { stopKServe(kserve) })
	})

	It("takes over a product's serving from its Deployments, then serves its canary in Standard mode as a second InferenceService that KServe deploys, split on the team's HTTPRoute, and promotes it", func() {
		const name = "e2e-kserve"
		// realProduct's sandbox experiment tries v1 on the way to Delivery.
		v1, v2 := name+"-v1-0-0", name+"-v2-0-0"
		simSetSeen("model_online_auc", labels(name, v1), 0.9)
		simSetSeen("model_ctr", labels(name, v1), 0.08)
		simSetSeen("model_error_ratio", labels(name, v2), 0.001)
		apply(`
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  predictor:
    model:
      modelFormat: {name: sklearn}
      storageUri: s3://models/` + name + `/0.0.0
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  parentRefs: [{name: public-gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/models}}]
    backendRefs: [{name: ` + name + `-predictor, port: 80}]
`)
		By("KServe's webhook defaulted the team's InferenceService and its controller deployed it in Standard mode")
		Eventually(func() string { return jsonpath("isvc", name, ".status.deploymentMode") }, "90s").Should(Equal("Standard"))
		Eventually(func() string { return jsonpath("deploy", name+"-predictor", ".metadata.name") }).Should(Equal(name + "-predictor"))

		// Experiments run their candidate on the Deployment backend only, so
		// the product passes Discovery there and then moves its serving to
		// the team's InferenceService, as a team adopting KServe would.
		kserveServing := `    serving:
      backend: KServe
      replicas: 1
      inferenceService: {name: ` + name + `}
      httpRoute: {name: ` + name + `}
`
		steps := `    rollout:
      steps:
      - setWeight: 25
      - pause: {}
`
		product := realProduct(name, "{name: "+v1+"}", serving, steps)
		apply(version(name, v1, "1.0.0", "0.9") + "---" + product)
		v1URI, v2URI := "s3://models/"+name+"/1.0.0", "s3://models/"+name+"/2.0.0"
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+v1, "--timeout", "120s")

		By("serving moves to the InferenceService: the operator points it at production and the route at KServe's predictor")
		product = strings.Replace(product, serving, kserveServing, 1)
		apply(product)
		Eventually(func() string { return jsonpath("isvc", name, ".spec.predictor.model.storageUri") }, "60s").Should(Equal(v1URI))
		Eventually(func() map[string]float64 { return routeWeights(name) }, "60s").Should(Equal(map[string]float64{name + "-predictor": 100}))
		Eventually(func() string { out, _ := kubectlMaybe("get", "deploy/"+v1, "-n", "default"); return out }, "60s").
			Should(ContainSubstring("NotFound"), "the product's own Deployment goes once KServe serves it")

		By("a new version: the operator creates the canary InferenceService, and KServe deploys it beside the first")
		apply(version(name, v2, "2.0.0", "0.95"))
		kubectl("wait", "mv/"+v2, "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(strings.Replace(product, "modelVersion: {name: "+v1+"}", "modelVersion: {name: "+v2+"}", 1))
		canary := name + "-canary"
		Eventually(func() string { return jsonpath("isvc", canary, ".status.deploymentMode") }, "90s").Should(Equal("Standard"))
		Expect(jsonpath("isvc", canary, ".spec.predictor.model.storageUri")).To(Equal(v2URI))
		Eventually(func() string { return jsonpath("deploy", canary+"-predictor", ".status.availableReplicas") }, "90s").Should(Equal("1"))
		Eventually(func() map[string]float64 { return routeWeights(name) }, "90s").Should(Equal(map[string]float64{
			name + "-predictor": 75, canary + "-predictor": 25}))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.phase}=Paused", "--timeout", "60s")
		Expect(jsonpath("isvc", name, ".spec.predictor.model.storageUri")).To(Equal(v1URI), "the first InferenceService keeps serving the stable version during the canary")

		By("promotion: the first InferenceService rolls to v2 under KServe, the route returns to it, and the canary is removed")
		kubectl("annotate", "aip/"+name, "-n", "default", "lifecycle.aipm.io/promote=now")
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+v2, "--timeout", "120s")
		Eventually(func() string { return jsonpath("isvc", name, ".spec.predictor.model.storageUri") }, "60s").Should(Equal(v2URI))
		Eventually(func() map[string]float64 { return routeWeights(name) }, "120s").Should(Equal(map[string]float64{name + "-predictor": 100}))
		Eventually(func() string { return jsonpath("isvc", canary, ".metadata.name") }, "60s").Should(BeEmpty())
		Eventually(func() string {
			out, _ := kubectlMaybe("get", "deploy/"+canary+"-predictor", "-n", "default")
			return out
		}, "60s").
			Should(ContainSubstring("NotFound"), "KServe's Deployment of the canary goes with it")
		Expect(kubectl("get", "mv/"+v2, "-n", "default", "-o", "jsonpath={.status.stage}")).To(Equal("Production"))
	})
})
