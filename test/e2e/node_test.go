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
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/aipm-io/aipm-operator/test/ml"
)

// On the real node (hack/node.sh) the operator is a pod deployed by make
// deploy, the model servers and trainers are containers built here
// (hack/images.sh), and traffic is real requests through the product's
// Service, balanced by kube-proxy.
const (
	realNode  = "aipm-node"
	nodeIP    = "10.250.0.10"
	imageTag  = "dev"
	storeUID  = 65532 // the user the images run as
	errorRule = `sum(rate(model_requests_total{product=$product, version=$version, code=~"5.."}[15s])) / sum(rate(model_requests_total{product=$product, version=$version}[15s]))`
)

// onRealNode is what a pod spec needs to run on the real node.
const onRealNode = `nodeSelector: {aipm.io/node: real}
          tolerations: [{key: aipm.io/node, value: real, effect: NoSchedule}]`

// storeDir is the model store's directory on this machine: the real
// node's hostPath volume behind the claim "models".
func storeDir() string { return filepath.Join(root, "bin", "node", "models") }

// trainModel trains a model here and puts it in the store as a trainer
// would, returning its pvc:// URI and digest.
func trainModel(product, semver string, seed uint64, shift float64) (string, string) {
	m := ml.Train(ml.Generate(seed, 4000, shift), 300, 0.5)
	m.Version = semver
	body, err := json.Marshal(m)
	Expect(err).NotTo(HaveOccurred())
	store := ml.Store{Root: storeDir(), Claim: "models"}
	rel := path.Join(ml.ModelDir(product, semver), "model.json")
	digest, err := ml.WriteFile(store.Path(rel), body)
	Expect(err).NotTo(HaveOccurred())
	chownStore()
	return store.URI(rel), digest
}

// chownStore gives the store to the user the images run as, so that a
// trainer can write where the suite wrote.
func chownStore() {
	Expect(filepath.Walk(storeDir(), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, storeUID, storeUID)
	})).To(Succeed())
}

// storedVersion is a ModelVersion whose artifact is a model in the store.
func storedVersion(product, semver, uri, digest string) string {
	return fmt.Sprintf(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: ModelVersion
metadata: {name: %s-v%s, namespace: default, labels: {e2e: aipm}}
spec:
  product: %s
  version: %s
  artifact: {uri: %q, format: Custom, digest: %q}
  lineage: {trigger: Manual}
  metrics: [{name: auc, value: "0.86"}]
`, product, strings.ReplaceAll(semver, ".", "-"), product, semver, uri, digest)
}

// realServing runs the model server image on the real node with the store
// mounted; behaviour makes versions misbehave (MODEL_BEHAVIOUR).
func realServing(behaviour string) string {
	return `    serving:
      replicas: 4
      port: 8080
      template:
        spec:
          ` + onRealNode + `
          securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
          containers:
          - name: server
            image: aipm.local/modelserver:` + imageTag + `
            imagePullPolicy: Never
            env: [{name: MODEL_BEHAVIOUR, value: '` + behaviour + `'}]
            readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 1}
            securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
            volumeMounts: [{name: models, mountPath: /models, readOnly: true}]
          volumes: [{name: models, persistentVolumeClaim: {claimName: models, readOnly: true}}]
`
}

// realProduct is a product in Delivery served on the real node; delivery
// is the rest of its spec.delivery after serving.
func realProduct(name, modelVersion, serving, delivery string) string {
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
      modelVersion: ` + name + `-v1-0-0
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: auc, query: 'max(model_online_auc{product=$product, version=$version})', threshold: "0.8", direction: AtLeast}
  delivery:
    modelVersion: ` + modelVersion + `
` + serving + delivery
}

// modelStore is the claim the model servers and trainers share: a volume
// of the real node's file system, bound ahead.
func modelStore() string {
	return `
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-models}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: ` + storeDir() + `, type: Directory}
  claimRef: {namespace: default, name: models}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: models, namespace: default}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  volumeName: e2e-models
  resources: {requests: {storage: 1Gi}}
`
}

// step is what the suite saw of one pause step of a rollout on real
// traffic.
type step struct {
	declared, reported int
	measured           float64
	requests           int
}

// measureSteps follows a rollout of canary through the pause steps at
// pauses (indexes into its steps) and measures, while each holds, the
// share of requests the canary answered, next to the weight the step
// declares and the effective weight the product reports.
func measureSteps(product, canary string, l *load, pauses []int) []step {
	var out []step
	for _, i := range pauses {
		var declared, reported int
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", product, ".status.rollout.canaryVersion")).To(Equal(canary))
			g.Expect(jsonpath("aip", product, ".status.rollout.step")).To(Equal(strconv.Itoa(i)))
			w, _ := strconv.Atoi(jsonpath("aip", product, ".status.rollout.weight"))
			e, _ := strconv.Atoi(jsonpath("aip", product, ".status.rollout.effectiveWeight"))
			g.Expect(e).To(Equal(w), "the canary's pods are ready for the step")
			declared, reported = w, e
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		// kube-proxy writes a changed endpoint set about a second after
		// the EndpointSlice changes.
		from := time.Now().Add(time.Second)
		time.Sleep(9 * time.Second)
		to := time.Now()
		Expect(jsonpath("aip", product, ".status.rollout.step")).To(Equal(strconv.Itoa(i)), "the step held while it was measured")
		t := l.between(from, to)
		out = append(out, step{declared: declared, reported: reported, measured: t.share(canary), requests: t.answered})
	}
	return out
}

// reportSteps writes the measured split as a table in the suite's report.
func reportSteps(name string, steps []step) {
	var b strings.Builder
	b.WriteString("| declared weight | reported effective weight | measured share | requests |\n| --- | --- | --- | --- |\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "| %d%% | %d%% | %.1f%% | %d |\n", s.declared, s.reported, s.measured, s.requests)
	}
	AddReportEntry(name, b.String())
	GinkgoWriter.Printf("%s\n%s", name, b.String())
}

var _ = Describe("On the real node", Label("node"), Ordered, func() {
	var (
		operatorPods []string
		leader       string
	)

	BeforeAll(func() {
		if onKind {
			Skip("the real node is the kwokctl cluster's: on kind every node is real and the other specs run there")
		}
		Expect(jsonpath("node", realNode, `.status.conditions[?(@.type=="Ready")].status`)).To(Equal("True"),
			"hack/cluster.sh starts a real node beside the fake ones when it runs as root; see bin/node/kubelet.log")

		By("building the images without Docker and importing them into the node's containerd")
		run(filepath.Join(root, "hack", "images.sh"))

		// What an earlier run's retraining registered carries the product's
		// label, not the suite's.
		kubectl("delete", "modelversions,retrainingruns,jobs", "-n", "default", "-l", "lifecycle.aipm.io/product in (e2e-real, e2e-loop, e2e-gw)", "--ignore-not-found", "--wait")

		By("giving the model servers and trainers a model store")
		Expect(os.MkdirAll(storeDir(), 0o755)).To(Succeed())
		chownStore()
		apply(modelStore())
		Eventually(func() string { return jsonpath("pvc", "models", ".status.phase") }).Should(Equal("Bound"))

		By("replacing the operator process with the operator installed by the Helm chart: two replicas on the real node")
		// The chart renders config/default's objects (test/helm), so this
		// is also what make deploy installs; the suite installed the CRDs.
		stopSuiteOperator()
		// The cluster came with the admission policies, as make install
		// applies them; the chart installs them too, and owns what it
		// installs.
		kubectl("delete", "-k", filepath.Join(root, "config", "admission"), "--ignore-not-found")
		values := filepath.Join(workDir, "helm-values.yaml")
		Expect(os.WriteFile(values, []byte(`image: {repository: aipm.local/aipm-operator, tag: "`+imageTag+`", pullPolicy: Never}
replicas: 2
prometheus: {address: "http://`+nodeIP+promAddr[strings.LastIndex(promAddr, ":"):]+`"}
nodeSelector: {aipm.io/node: real}
tolerations: [{key: aipm.io/node, value: real, effect: NoSchedule}]
`), 0o644)).To(Succeed())
		run(filepath.Join(root, "bin", "helm"), "upgrade", "--install", "aipm-operator", filepath.Join(root, "charts", "aipm-operator"),
			"--kubeconfig", kubeconfig, "--namespace", operatorNS, "--create-namespace", "--skip-crds", "--values", values, "--wait", "--timeout", "180s")
		Expect(kubectl("get", "deployment", operatorDeploy, "-n", operatorNS, "-o", "jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}")).To(Equal("Helm"))
		kubectl("rollout", "status", "deployment/"+operatorDeploy, "-n", operatorNS, "--timeout", "180s")
		// A replica of an earlier deployment may still be on its way out.
		Eventually(func() []string {
			operatorPods = strings.Fields(kubectl("get", "pods", "-n", operatorNS, "-l", "control-plane=controller-manager",
				"-o", "jsonpath={.items[*].metadata.name}"))
			return operatorPods
		}).WithTimeout(time.Minute).Should(HaveLen(2))
	})

	AfterAll(func() {
		if onKind {
			return
		}
		uninstall := exec.Command(filepath.Join(root, "bin", "helm"), "uninstall", "aipm-operator", "--kubeconfig", kubeconfig,
			"--namespace", operatorNS, "--ignore-not-found", "--wait")
		if out, err := uninstall.CombinedOutput(); err != nil {
			GinkgoWriter.Printf("helm uninstall: %v: %s\n", err, out)
		}
		// The operator process takes over only once no replica can act.
		Eventually(func() string {
			out, _ := kubectlMaybe("get", "pods", "-n", operatorNS, "-l", "control-plane=controller-manager", "-o", "name")
			return out
		}).WithTimeout(2 * time.Minute).Should(BeEmpty())
		// The chart took its admission policies with it; the cluster keeps
		// them, as make install does.
		kubectl("apply", "--server-side", "-k", filepath.Join(root, "config", "admission"))
		startSuiteOperator()
	})

	It("runs the operator as the Helm chart installs it: restricted, its own ServiceAccount, one leader of two, metrics over HTTPS for a token only", func() {
		for _, pod := range operatorPods {
			get := func(path string) string {
				return kubectl("get", "pod", pod, "-n", operatorNS, "-o", "jsonpath={"+path+"}")
			}
			Expect(get(".spec.nodeName")).To(Equal(realNode))
			Expect(get(".spec.serviceAccountName")).To(Equal("aipm-operator-controller-manager"))
			Expect(get(".spec.securityContext.runAsNonRoot")).To(Equal("true"))
			Expect(get(".spec.containers[0].securityContext.readOnlyRootFilesystem")).To(Equal("true"))
			Expect(get(".status.containerStatuses[0].ready")).To(Equal("true"), "its readiness probe answers")
		}

		By("one replica holds the Lease")
		Eventually(func() string {
			return kubectl("get", "lease", "aipm-operator.lifecycle.aipm.io", "-n", operatorNS, "-o", "jsonpath={.spec.holderIdentity}")
		}).Should(Or(HavePrefix(operatorPods[0]+"_"), HavePrefix(operatorPods[1]+"_")))
		holder := kubectl("get", "lease", "aipm-operator.lifecycle.aipm.io", "-n", operatorNS, "-o", "jsonpath={.spec.holderIdentity}")
		leader, _, _ = strings.Cut(holder, "_")

		By("the metrics answer a token the metrics-reader role admits, and refuse a request without one")
		insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		ip := kubectl("get", "pod", leader, "-n", operatorNS, "-o", "jsonpath={.status.podIP}")
		resp, err := insecure.Get("https://" + ip + ":8443/metrics")
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Body.Close()).To(Succeed())
		Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
		Eventually(func() float64 {
			_, v, _ := promQuery(`count(up{job="aipm-operator-pods"} == 1)`)
			return v
		}).Should(Equal(2.0), "Prometheus scrapes both replicas with its token")

		By("the validating webhook, its certificate kept by the replicas, answering the API server through its Service")
		Expect(kubectl("get", "validatingwebhookconfiguration", "aipm-operator-validating-webhook-configuration", "-o",
			"jsonpath={.webhooks[0].clientConfig.caBundle}")).NotTo(BeEmpty(), "the operator set the caBundle")
		Eventually(func() string {
			return applyMaybe(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: e2e-node-admission, namespace: default}
spec:
  phase: Strategy
  delivery:
    modelVersion: {policy: LatestEligible}
    serving: {backend: KServe, inferenceService: {name: isvc}}
    retraining:
      schedule: "0 25 * * *"
      template: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: t, image: busybox:1.37}]}}}}
`)
		}).Should(ContainSubstring(`spec.delivery.retraining.schedule: Invalid value: "0 25 * * *"`))

		By("the other replica takes over when the leader's pod is deleted")
		kubectl("delete", "pod", leader, "-n", operatorNS, "--wait=false")
		Eventually(func() string {
			h := kubectl("get", "lease", "aipm-operator.lifecycle.aipm.io", "-n", operatorNS, "-o", "jsonpath={.spec.holderIdentity}")
			if i := strings.Index(h, "_"); i > 0 {
				return h[:i]
			}
			return h
		}).WithTimeout(time.Minute).Should(And(Not(BeEmpty()), Not(Equal(leader))))
		kubectl("rollout", "status", "deployment/"+operatorDeploy, "-n", operatorNS, "--timeout", "180s")
	})

	It("splits real requests through the product's Service as each canary step declares, and rolls back a failing version on its measured error ratio", func() {
		const product = "e2e-real"
		simSetSeen("model_online_auc", labels(product, product+"-v1-0-0"), 0.9)
		var mvs []string
		for i, semver := range []string{"1.0.0", "2.0.0", "3.0.0"} {
			uri, digest := trainModel(product, semver, uint64(10+i), 0)
			mvs = append(mvs, storedVersion(product, semver, uri, digest))
		}
		// Version 3.0.0 fails half its requests, as a bad release would.
		serving := realServing(`{"` + product + `-v3-0-0": {"errorRatio": 0.5}}`)
		rollout := `    rollout:
      progressDeadline: 90s
      steps:
      - setWeight: 25
      - pause: {duration: 20s}
      - setWeight: 50
      - pause: {duration: 20s}
      - analysis:
          interval: 3s
          count: 2
          metrics:
          - {name: error-ratio, query: '` + errorRule + `', threshold: "0.05", direction: AtMost}
      - setWeight: 100
`
		apply(strings.Join(mvs, "---") + "---" + realProduct(product, "{name: "+product+"-v1-0-0}", serving, rollout))
		kubectl("wait", "aip/"+product, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+product+"-v1-0-0", "--timeout", "180s")
		for _, v := range []string{"v2-0-0", "v3-0-0"} {
			kubectl("wait", "mv/"+product+"-"+v, "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		}
		kubectl("wait", "deploy/"+product+"-v1-0-0", "-n", "default", "--for", "condition=Available", "--timeout", "120s")
		Eventually(func() string { return jsonpath("deploy", product+"-v1-0-0", ".status.readyReplicas") }).Should(Equal("4"))

		By("sending requests through the Service, 40 a second, each on a new connection")
		svc := kubectl("get", "svc", product, "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
		l := startLoad("http://"+svc+":8080/v1/predict", 40)
		DeferCleanup(l.Stop)
		Eventually(func() int { return l.between(time.Now().Add(-2*time.Second), time.Now()).byVersion[product+"-v1-0-0"] }).Should(BeNumerically(">", 20))
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(rate(model_requests_total{product="` + product + `", version="` + product + `-v1-0-0"}[15s]))`)
			return v
		}).Should(BeNumerically(">", 10), "Prometheus scrapes the model servers, labelled by product and version")

		By("rolling 2.0.0 out: the share each step gives it, measured")
		apply(realProduct(product, "{name: "+product+"-v2-0-0}", serving, rollout))
		steps := measureSteps(product, product+"-v2-0-0", l, []int{1, 3})
		kubectl("wait", "mv/"+product+"-v2-0-0", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "180s")
		reportSteps("traffic split by step, 2.0.0 (4 replicas, kube-proxy iptables)", steps)
		for _, s := range steps {
			Expect(math.Abs(s.measured-float64(s.declared))).To(BeNumerically("<=", 25), "within one replica's share (1 of 4) of the declared weight")
			Expect(math.Abs(s.measured-float64(s.reported))).To(BeNumerically("<=", 12), "the reported effective weight is what the requests saw")
			Expect(s.requests).To(BeNumerically(">", 200))
		}
		// The old pods drain for a few seconds while kube-proxy drops them.
		recent := func() tally { return l.between(time.Now().Add(-3*time.Second), time.Now()) }
		Eventually(recent).WithTimeout(30*time.Second).Should(
			WithTransform(func(t tally) float64 { return t.share(product + "-v2-0-0") }, Equal(100.0)), "after promotion every request reaches 2.0.0")

		By("rolling 3.0.0 out: its real errors fail the analysis and it is rolled back")
		apply(realProduct(product, "{name: "+product+"-v3-0-0}", serving, rollout))
		kubectl("wait", "mv/"+product+"-v3-0-0", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "180s")
		Expect(jsonpath("mv", product+"-v3-0-0", ".status.stageReason")).To(MatchRegexp(`^e2e-real-v3-0-0 rolled back: analysis metric error-ratio was 0\.[2-7]\d*, threshold at most 0\.05$`))
		Expect(jsonpath("aip", product, ".status.productionVersion")).To(Equal(product + "-v2-0-0"))
		Eventually(recent).WithTimeout(30*time.Second).Should(
			WithTransform(func(t tally) float64 { return t.share(product + "-v2-0-0") }, Equal(100.0)), "after the rollback every request reaches 2.0.0")
		Expect(l.between(time.Now().Add(-3*time.Second), time.Now()).failed).To(BeZero())
	})

	It("splits requests through a real gateway (Traefik) at each step's exact weight, and sends an A/B test's header to the candidate over the team's path rule", func() {
		const product = "e2e-gw"
		simSetSeen("model_online_auc", labels(product, product+"-v1-0-0"), 0.9)

		By("Traefik, built from the module proxy, as the Gateway API implementation")
		traefikBin := builtBinary("traefik")
		gw := strings.TrimSpace(run("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api"))
		kubectl("apply", "--server-side", "-f", filepath.Join(gw, "config", "crd", "standard"))
		for _, crd := range []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"} {
			waitEstablished(crd + ".gateway.networking.k8s.io")
		}
		addr := freePort()
		port := addr[strings.LastIndex(addr, ":")+1:]
		apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: e2e-traefik}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: e2e-gw, namespace: default, labels: {e2e: aipm}}
spec:
  gatewayClassName: e2e-traefik
  listeners: [{name: web, protocol: HTTP, port: ` + port + `, allowedRoutes: {namespaces: {from: Same}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: e2e-gw, namespace: default, labels: {e2e: aipm}}
spec:
  parentRefs: [{name: e2e-gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/predict}}]
    backendRefs: [{name: e2e-gw, port: 8080}]
`)
		traefik := start(traefikBin, "--entryPoints.web.address="+addr, "--providers.kubernetesGateway=true",
			"--global.checkNewVersion=false", "--global.sendAnonymousUsage=false", "--log.level=INFO")
		DeferCleanup(func() { _ = traefik.Process.Kill() })
		kubectl("wait", "gateway/e2e-gw", "-n", "default", "--for", "condition=Programmed", "--timeout", "120s")

		var mvs []string
		for i, semver := range []string{"1.0.0", "2.0.0", "3.0.0"} {
			uri, digest := trainModel(product, semver, uint64(30+i), 0)
			mvs = append(mvs, storedVersion(product, semver, uri, digest))
		}
		serving := strings.Replace(realServing("{}"), "    serving:\n", "    serving:\n      httpRoute: {name: e2e-gw}\n", 1)
		rollout := `    rollout:
      progressDeadline: 90s
      steps:
      - setWeight: 20
      - pause: {duration: 20s}
      - setWeight: 60
      - pause: {duration: 20s}
      - setWeight: 100
`
		apply(strings.Join(mvs, "---") + "---" + realProduct(product, "{name: "+product+"-v1-0-0}", serving, rollout))
		kubectl("wait", "aip/"+product, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+product+"-v1-0-0", "--timeout", "180s")
		for _, v := range []string{"v2-0-0", "v3-0-0"} {
			kubectl("wait", "mv/"+product+"-"+v, "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		}

		By("sending requests through the gateway, 40 a second")
		url := "http://" + addr + "/v1/predict"
		l := startLoad(url, 40)
		DeferCleanup(l.Stop)
		recent := func(l *load) func() tally {
			return func() tally { return l.between(time.Now().Add(-3*time.Second), time.Now()) }
		}
		share := func(version string) func(tally) float64 { return func(t tally) float64 { return t.share(version) } }
		Eventually(recent(l)).WithTimeout(2*time.Minute).Should(WithTransform(share(product+"-v1-0-0"), Equal(100.0)), "the gateway serves the product")

		By("rolling 2.0.0 out behind the route: the share each step gives it, measured at the gateway")
		apply(realProduct(product, "{name: "+product+"-v2-0-0}", serving, rollout))
		steps := measureSteps(product, product+"-v2-0-0", l, []int{1, 3})
		kubectl("wait", "mv/"+product+"-v2-0-0", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "180s")
		reportSteps("traffic split by step at the gateway, 2.0.0 (Traefik, HTTPRoute weights)", steps)
		for _, s := range steps {
			Expect(s.reported).To(Equal(s.declared), "a router gives the declared weight exactly")
			Expect(math.Abs(s.measured-float64(s.declared))).To(BeNumerically("<=", 8), "the gateway's split is the declared weight")
			Expect(s.requests).To(BeNumerically(">", 200))
		}
		Eventually(recent(l)).WithTimeout(time.Minute).Should(WithTransform(share(product+"-v2-0-0"), Equal(100.0)), "after promotion every request reaches 2.0.0")

		By("an A/B test whose header sends requests to 3.0.0, on the path the team's rule serves")
		ab := `    - name: ab
      type: ABTest
      modelVersion: ` + product + `-v3-0-0
      trafficPercent: 10
      headerMatch: {name: X-Variant, value: b}
      duration: 5m
      interval: 5s
      successCriteria:
      - {name: errors, query: '` + errorRule + `', threshold: "0.05", direction: AtMost}
`
		apply(strings.Replace(realProduct(product, "{name: "+product+"-v2-0-0}", serving, rollout), "  delivery:\n", ab+"  delivery:\n", 1))
		withHeader := startLoadWith(url, http.Header{"X-Variant": {"b"}}, 20)
		DeferCleanup(withHeader.Stop)
		Eventually(recent(withHeader)).WithTimeout(2*time.Minute).Should(WithTransform(share(product+"-v3-0-0"), Equal(100.0)),
			"a request with the header reaches the candidate: the A/B rule outranks the team's path rule")
		Consistently(recent(l)).WithTimeout(5*time.Second).Should(WithTransform(share(product+"-v2-0-0"), Equal(100.0)),
			"a request without it stays on production")
	})

	It("closes the loop for real: drifted requests, a trainer and an evaluator that run, the model they made served to real traffic", func() {
		const product = "e2e-loop"
		simSetSeen("model_online_auc", labels(product, product+"-v1-0-0"), 0.9)
		uri, digest := trainModel(product, "1.0.0", 20, 0)
		apply(storedVersion(product, "1.0.0", uri, digest) + "---" + loopProduct(product))
		kubectl("wait", "aip/"+product, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+product+"-v1-0-0", "--timeout", "180s")
		Eventually(func() string { return jsonpath("deploy", product+"-v1-0-0", ".status.readyReplicas") }).Should(Equal("4"))

		svc := kubectl("get", "svc", product, "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
		l := startLoad("http://"+svc+":8080/v1/predict", 40)
		DeferCleanup(l.Stop)
		Eventually(func() string { return jsonpath("aip", product, ".status.driftState") }, 2*time.Minute).Should(Equal("None"))

		By("the requests drifting: the amount feature's mean moves past 1.0")
		l.setShift(1.5)
		kubectl("wait", "aip/"+product, "-n", "default", "--for", "condition=Drifted", "--timeout", "120s")
		var job string
		Eventually(func() []string {
			return strings.Fields(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product="+product, "-o", "name"))
		}).Should(HaveLen(1), "exactly one retraining Job")
		job = strings.TrimPrefix(kubectl("get", "jobs", "-n", "default", "-l", "lifecycle.aipm.io/product="+product, "-o", "name"), "job.batch/")
		kubectl("wait", "job/"+job, "-n", "default", "--for", "condition=Complete", "--timeout", "180s")
		logs := kubectl("logs", "job/"+job, "-n", "default", "-c", "trainer")
		Expect(logs).To(ContainSubstring("trained " + product + " 1.0.1 on 4000 rows (trigger Drift, shift 1.5)"))

		By("the evaluator's result becoming a ModelVersion that the policy admits and a canary takes to production")
		next := product + "-v1-0-1"
		Eventually(func() string { return jsonpath("mv", next, ".spec.artifact.uri") }).Should(Equal("pvc://models/" + product + "/1.0.1/model.json"))
		stored, err := os.ReadFile(filepath.Join(storeDir(), product, "1.0.1", "model.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(jsonpath("mv", next, ".spec.artifact.digest")).To(Equal(ml.Digest(stored)), "the model the trainer wrote is the model registered")
		Expect(jsonpath("mv", next, ".spec.lineage.dataset.uri")).To(Equal("pvc://models/" + product + "/1.0.1/train.csv"))
		auc, err := strconv.ParseFloat(jsonpath("mv", next, `.spec.metrics[?(@.name=="auc")].value`), 64)
		Expect(err).NotTo(HaveOccurred())
		Expect(auc).To(BeNumerically(">=", 0.8), "held out, by the evaluator")
		Expect(jsonpath("mv", next, `.spec.metrics[?(@.name=="auc_business")].value`)).NotTo(BeEmpty(), "scored by segment too")
		kubectl("wait", "mv/"+next, "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "180s")
		Expect(jsonpath("mv", next, ".spec.lineage.trigger")).To(Equal("Drift"))
		Expect(jsonpath("mv", next, ".spec.lineage.parentVersion")).To(Equal(product + "-v1-0-0"))

		By("every request now answered by the retrained model")
		Eventually(func() float64 {
			return l.between(time.Now().Add(-3*time.Second), time.Now()).share(next)
		}).Should(Equal(100.0))
	})
})

// loopProduct retrains on drift of the amount feature's mean, with the
// trainer and evaluator images: the trainer as an init container, the
// evaluator, whose held-out figures the promotion policy reads, as the
// result container.
func loopProduct(name string) string {
	return realProduct(name, "{policy: LatestEligible}", realServing("{}"), `    rollout:
      progressDeadline: 90s
      steps:
      - setWeight: 50
      # Prometheus needs a few scrapes of the canary's new pods before a
      # rate over them has data.
      - pause: {duration: 10s}
      - analysis:
          interval: 3s
          count: 2
          metrics:
          - {name: error-ratio, query: '`+errorRule+`', threshold: "0.05", direction: AtMost}
      - setWeight: 100
    monitoring:
      interval: 5s
      drift:
      - name: amount-mean
        feature: amount
        query: 'sum(rate(model_feature_value_sum{product=$product, version=$version, feature="amount"}[15s])) / sum(rate(model_feature_value_count{product=$product, version=$version, feature="amount"}[15s]))'
        threshold: "1.0"
        statistic: Other
        kind: Distance
        for: 4s
    retraining:
      onDrift: true
      resultContainer: evaluator
      template:
        spec:
          backoffLimit: 0
          template:
            spec:
              `+strings.ReplaceAll(onRealNode, "\n          ", "\n              ")+`
              initContainers:
              - name: trainer
                image: aipm.local/trainer:`+imageTag+`
                imagePullPolicy: Never
                env: [{name: DATA_SHIFT, value: "1.5"}]
                volumeMounts: [{name: models, mountPath: /models}]
              containers:
              - name: evaluator
                image: aipm.local/evaluator:`+imageTag+`
                imagePullPolicy: Never
                env: [{name: DATA_SHIFT, value: "1.5"}]
                volumeMounts: [{name: models, mountPath: /models}]
              volumes: [{name: models, persistentVolumeClaim: {claimName: models}}]
    promotion:
      requirements: [{metric: auc, min: "0.8"}]
`)
}
