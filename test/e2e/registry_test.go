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
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// modelRegistry runs hack/model-registry.sh (the Kubeflow Model Registry's
// own server, built from its module, over Debian's MariaDB).
func modelRegistry(args ...string) string {
	GinkgoHelper()
	cmd := exec.Command(filepath.Join(root, "hack", "model-registry.sh"), args...)
	cmd.Dir, cmd.Stderr = root, GinkgoWriter
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "hack/model-registry.sh %v", args)
	return strings.TrimSpace(string(out))
}

// registryAPI calls the registry's REST API as a person or a pipeline
// would, with the JSON its OpenAPI documents, and decodes the answer.
func registryAPI(base, method, path, body string) map[string]any {
	GinkgoHelper()
	req, err := http.NewRequest(method, base+"/api/model_registry/v1alpha3"+path, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	Expect(resp.StatusCode/100).To(Equal(2), "%s %s: %d %s", method, path, resp.StatusCode, raw)
	out := map[string]any{}
	Expect(json.Unmarshal(raw, &out)).To(Succeed())
	return out
}

// registryVersions lists a registered model's versions, every page.
func registryVersions(base, modelID string) []map[string]any {
	GinkgoHelper()
	var all []map[string]any
	token := ""
	for {
		q := url.Values{"pageSize": {"50"}, "orderBy": {"ID"}}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		page := registryAPI(base, http.MethodGet, "/registered_models/"+modelID+"/versions?"+q.Encode(), "")
		items, _ := page["items"].([]any)
		for _, it := range items {
			all = append(all, it.(map[string]any))
		}
		token, _ = page["nextPageToken"].(string)
		if token == "" || len(items) == 0 {
			return all
		}
	}
}

// prop is a version's custom property, as a string.
func prop(v map[string]any, name string) string {
	p, _ := v["customProperties"].(map[string]any)[name].(map[string]any)
	if s, ok := p["string_value"].(string); ok {
		return s
	}
	if f, ok := p["double_value"].(float64); ok {
		return fmt.Sprint(f)
	}
	return ""
}

// registerVersion registers a version with a model artifact, as a training
// pipeline does in the registry.
func registerVersion(base, modelID, name, auc string) {
	GinkgoHelper()
	v := registryAPI(base, http.MethodPost, "/model_versions", `{"name":"`+name+`","registeredModelId":"`+modelID+`","author":"pipeline",
		"customProperties":{"auc":{"metadataType":"MetadataDoubleValue","double_value":`+auc+`}}}`)
	registryAPI(base, http.MethodPost, "/model_versions/"+v["id"].(string)+"/artifacts",
		`{"artifactType":"model-artifact","name":"model","uri":"s3://models/e2e-registry/`+name+`","modelFormatName":"onnx"}`)
}

// registryBlock syncs a product with the registry at base every interval.
func registryBlock(base string, interval time.Duration) string {
	return `    registry:
      kubeflow: {url: "` + base + `"}
      interval: ` + interval.String() + `
`
}

// registrySpecs run in the main ordered container, before the dashboards
// spec, which finds the registry's counters in Prometheus.
func registrySpecs() {
	Context("with the Kubeflow Model Registry's own server", Ordered, Label("registry"), func() {
		registryScenarios()
	})
}

func registryScenarios() {
	const name = "e2e-registry"
	const interval = 3 * time.Second
	var base, dir string
	BeforeAll(func() {
		By("building the registry from its module and starting it over MariaDB")
		modelRegistry("build")
		dir = filepath.Join(workDir, "model-registry")
		port := freePort()
		base = modelRegistry("start", dir, port[strings.LastIndex(port, ":")+1:])
		DeferCleanup(func() {
			// The product stops syncing and its hundred candidates go before
			// the registry stops, so that no later scenario shares the
			// operator with a sync that fails; the product and its counters
			// stay for the dashboards.
			_ = runMaybe(kubectlBin, "patch", "aip", name, "-n", "default", "--type", "json",
				"-p", `[{"op":"remove","path":"/spec/delivery/registry"}]`)
			names := []string{"delete", "mv", "-n", "default", "--ignore-not-found", "--wait=false"}
			for i := 0; i < outageRounds; i++ {
				names = append(names, fmt.Sprintf("%s-v2-0-%d", name, i), fmt.Sprintf("%s-v3-0-%d", name, i))
			}
			_ = runMaybe(kubectlBin, names...)
			modelRegistry("stop", dir)
		})
	})

	It("keeps a product's versions in step: the operator's registered there, one registered there appears here within one sync interval, promotion written back", func() {
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.9)
		simSetSeen("model_error_ratio", labels(name, name+"-v1-1-0"), 0.001)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + retrained(name, 1, registryBlock(base, interval)))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")

		By("the cluster's version registered, with its artifact and its stage")
		var modelID string
		Eventually(func(g Gomega) {
			g.Expect(cond("aip", name, "RegistrySynced", "status")).To(Equal("True"))
			modelID = jsonpath("aip", name, ".status.registry.registeredModelID")
			g.Expect(modelID).NotTo(BeEmpty())
			vs := registryVersions(base, modelID)
			g.Expect(vs).To(HaveLen(1))
			g.Expect(vs[0]["name"]).To(Equal("1.0.0"))
			g.Expect(vs[0]["externalId"]).To(Equal("aipm:default/" + name + "-v1"))
			g.Expect(prop(vs[0], "aipm_stage")).To(Equal("Production"))
			arts := registryAPI(base, http.MethodGet, "/model_versions/"+vs[0]["id"].(string)+"/artifacts", "")["items"].([]any)
			g.Expect(arts).To(HaveLen(1))
			g.Expect(arts[0].(map[string]any)["uri"]).To(Equal("s3://models/" + name + "/1.0.0"))
		}, "30s").Should(Succeed())

		By("a version a pipeline registers there becoming a ModelVersion within one sync interval")
		registerVersion(base, modelID, "1.1.0", "0.93")
		registered := time.Now()
		Eventually(func() string { return jsonpath("mv", name+"-v1-1-0", ".spec.artifact.uri") }, interval+5*time.Second, 100*time.Millisecond).
			Should(Equal("s3://models/e2e-registry/1.1.0"))
		took := time.Since(registered)
		fmt.Fprintf(GinkgoWriter, "registry: version 1.1.0 appeared as ModelVersion %s-v1-1-0 %.1fs after it was registered (sync interval %s)\n",
			name, took.Seconds(), interval)
		Expect(took).To(BeNumerically("<", interval+2*time.Second), "within one sync interval, and the reconcile that follows it")
		Expect(jsonpath("mv", name+"-v1-1-0", ".spec.metrics[0]")).To(Equal(`{"name":"auc","value":"0.93"}`))
		Expect(jsonpath("mv", name+"-v1-1-0", ".spec.lineage.trigger")).To(Equal("External"))

		By("its canary promoted here, and the promotion visible there")
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1-1-0", "--timeout", "120s")
		oldStage := jsonpath("mv", name+"-v1", ".status.stage")
		Eventually(func(g Gomega) {
			byName := map[string]map[string]any{}
			for _, v := range registryVersions(base, modelID) {
				byName[v["name"].(string)] = v
			}
			g.Expect(prop(byName["1.1.0"], "aipm_stage")).To(Equal("Production"))
			g.Expect(byName["1.1.0"]["state"]).To(Equal("LIVE"))
			g.Expect(prop(byName["1.1.0"], "auc")).To(Equal("0.93"), "the pipeline's properties kept")
			g.Expect(prop(byName["1.0.0"], "aipm_stage")).To(Equal(oldStage))
			if oldStage == "Archived" || oldStage == "Rejected" {
				g.Expect(byName["1.0.0"]["state"]).To(Equal("ARCHIVED"))
			}
		}, "20s").Should(Succeed())
	})

	It("loses and duplicates nothing across 50 registry outages during syncs", func() {
		modelID := jsonpath("aip", name, ".status.registry.registeredModelID")
		Expect(modelID).NotTo(BeEmpty())
		before := len(registryVersions(base, modelID))
		const rounds = outageRounds
		restarts, stops := 0, 0
		for i := 0; i < rounds; i++ {
			// One version each way per round, below the promotion floor so
			// that none rolls out: a pipeline's in the registry, the
			// cluster's as a ModelVersion.
			registerVersion(base, modelID, fmt.Sprintf("2.0.%d", i), "0.5")
			apply(version(name, fmt.Sprintf("%s-v3-0-%d", name, i), fmt.Sprintf("3.0.%d", i), "0.5"))
			// Outages of both kinds while syncs run: a restart, and a stop
			// that lasts up to a sync interval.
			time.Sleep(time.Duration(i%4) * 400 * time.Millisecond)
			if i%2 == 0 {
				modelRegistry("restart-server", dir)
				restarts++
			} else {
				modelRegistry("stop-server", dir)
				time.Sleep(time.Duration(i%5) * 600 * time.Millisecond)
				modelRegistry("start-server", dir)
				stops++
			}
		}
		want := before + 2*rounds
		var registryNames, versionNames []string
		Eventually(func(g Gomega) {
			registryNames = nil
			for _, v := range registryVersions(base, modelID) {
				registryNames = append(registryNames, v["name"].(string))
			}
			versionNames = strings.Fields(kubectl("get", "mv", "-n", "default", "-l", "lifecycle.aipm.io/product="+name,
				"-o", "jsonpath={range .items[*]}{.spec.version} {end}"))
			g.Expect(registryNames).To(HaveLen(want))
			g.Expect(versionNames).To(HaveLen(want))
		}, "60s").Should(Succeed())
		dupRegistry, dupCluster := duplicates(registryNames), duplicates(versionNames)
		lost := 0
		inRegistry := map[string]bool{}
		for _, n := range registryNames {
			inRegistry[n] = true
		}
		for _, n := range versionNames {
			if !inRegistry[n] {
				lost++
			}
		}
		var artifacts bytes.Buffer
		multiple := 0
		for _, v := range registryVersions(base, modelID) {
			items, _ := registryAPI(base, http.MethodGet, "/model_versions/"+v["id"].(string)+"/artifacts", "")["items"].([]any)
			if len(items) != 1 {
				multiple++
				fmt.Fprintf(&artifacts, "%s: %d artifacts; ", v["name"], len(items))
			}
		}
		fmt.Fprintf(GinkgoWriter, "registry: %d outages (%d restarts, %d stops); versions in the registry %d, ModelVersions %d, want %d; duplicates %d in the registry, %d in the cluster; lost %d; versions without exactly one artifact %d\n",
			restarts+stops, restarts, stops, len(registryNames), len(versionNames), want, dupRegistry, dupCluster, lost, multiple)
		Expect(dupRegistry+dupCluster+lost+multiple).To(BeZero(), artifacts.String())
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_registry_syncs_total{product="` + name + `", result="Failed"})`)
			return v
		}, "30s").Should(BeNumerically(">", 0), "the outages were seen by syncs")
		Eventually(func() string { return cond("aip", name, "RegistrySynced", "status") }, "30s").Should(Equal("True"))
	})
}

// outageRounds is how many times the registry goes away during syncs.
const outageRounds = 50

// duplicates counts names seen more than once.
func duplicates(names []string) int {
	seen, n := map[string]bool{}, 0
	for _, s := range names {
		if seen[s] {
			n++
		}
		seen[s] = true
	}
	return n
}
