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
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// engineDirs builds the engines' controllers with hack/build-engines.sh
// (once; later calls find them) and returns each one's directory: the
// controller and its CRDs, from the same module.
func engineDirs(engines ...string) []string {
	GinkgoHelper()
	build := exec.Command(filepath.Join(root, "hack", "build-engines.sh"), engines...)
	build.Dir, build.Stderr = root, GinkgoWriter
	out, err := build.Output()
	Expect(err).NotTo(HaveOccurred(), "building %v", engines)
	return strings.Fields(string(out))
}

// trainerCertCheck is where Kubeflow Trainer v2.0.0 looks, by a path fixed
// in its code, for the certificate a pod would mount, before it starts its
// reconcilers; only the file's existence is checked.
const trainerCertCheck = "/tmp/k8s-webhook-server/serving-certs/tls.crt"

// startEngines installs the JobSet and Kubeflow Trainer CRDs from their
// modules and runs both controllers beside the cluster, as processes built
// from the module proxy, with JobSet's defaulting webhook registered (its
// reconciler needs the defaults only that webhook sets). It returns what
// stops them.
func startEngines() func() {
	GinkgoHelper()
	dirs := engineDirs("jobset", "trainer")
	jobset, trainer := dirs[0], dirs[1]

	By("the JobSet and Trainer CRDs, from the modules their controllers are built from")
	for _, d := range dirs {
		kubectl("apply", "--server-side", "-f", filepath.Join(d, "crds"))
	}
	for _, crd := range []string{"jobsets.jobset.x-k8s.io", "trainjobs.trainer.kubeflow.org", "clustertrainingruntimes.trainer.kubeflow.org"} {
		waitEstablished(crd)
	}

	By("JobSet's controller, its defaulting webhook served over TLS on this machine")
	certDir := filepath.Join(workDir, "jobset-certs")
	Expect(os.MkdirAll(certDir, 0o700)).To(Succeed())
	ca, cert, key := selfSignedCA(certDir)
	Expect(os.Rename(cert, filepath.Join(certDir, "tls.crt"))).To(Succeed())
	Expect(os.Rename(key, filepath.Join(certDir, "tls.key"))).To(Succeed())
	caPEM, err := os.ReadFile(ca)
	Expect(err).NotTo(HaveOccurred())
	hookAddr := freePort()
	port := hookAddr[strings.LastIndex(hookAddr, ":")+1:]
	config := filepath.Join(workDir, "jobset-config.yaml")
	Expect(os.WriteFile(config, []byte(`apiVersion: config.jobset.x-k8s.io/v1alpha1
kind: Configuration
leaderElection: {leaderElect: false}
internalCertManagement: {enable: false}
webhook: {port: `+port+`, host: 127.0.0.1, certDir: `+certDir+`}
metrics: {bindAddress: "0"}
health: {healthProbeBindAddress: `+freePort()+`}
`), 0o600)).To(Succeed())
	js := startWith(nil, filepath.Join(jobset, "jobset"), "--kubeconfig", kubeconfig, "--config", config, "--zap-devel=false")
	apply(`
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: e2e-jobset}
webhooks:
- name: mjobset.kb.io
  clientConfig: {url: "https://127.0.0.1:` + port + `/mutate-jobset-x-k8s-io-v1alpha2-jobset", caBundle: ` + base64.StdEncoding.EncodeToString(caPEM) + `}
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
  rules: [{apiGroups: [jobset.x-k8s.io], apiVersions: [v1alpha2], operations: [CREATE], resources: [jobsets]}]
`)

	By("Kubeflow Trainer's controller manager, with the Secret and certificate files it waits for")
	if _, err := kubectlMaybe("get", "ns", "kubeflow-system"); err != nil {
		kubectl("create", "namespace", "kubeflow-system")
	}
	if _, err := kubectlMaybe("get", "secret", "kubeflow-trainer-webhook-cert", "-n", "kubeflow-system"); err != nil {
		kubectl("create", "secret", "generic", "kubeflow-trainer-webhook-cert", "-n", "kubeflow-system")
	}
	tmp := filepath.Join(workDir, "trainer-tmp")
	serving := filepath.Join(tmp, "k8s-webhook-server", "serving-certs")
	Expect(os.MkdirAll(serving, 0o700)).To(Succeed())
	_, cert, key = selfSignedCA(serving)
	Expect(os.Rename(cert, filepath.Join(serving, "tls.crt"))).To(Succeed())
	Expect(os.Rename(key, filepath.Join(serving, "tls.key"))).To(Succeed())
	madeCheck := false
	if _, err := os.Stat(trainerCertCheck); os.IsNotExist(err) {
		Expect(os.MkdirAll(filepath.Dir(trainerCertCheck), 0o755)).To(Succeed())
		Expect(os.WriteFile(trainerCertCheck, nil, 0o644)).To(Succeed())
		madeCheck = true
	}
	webhook := freePort()
	tr := startWith([]string{"TMPDIR=" + tmp}, filepath.Join(trainer, "trainer"), "--kubeconfig", kubeconfig,
		"--metrics-bind-address=0", "--health-probe-bind-address="+freePort(),
		"--webhook-server-port="+webhook[strings.LastIndex(webhook, ":")+1:])
	return func() {
		_ = runMaybe(kubectlBin, "delete", "mutatingwebhookconfiguration", "e2e-jobset", "--ignore-not-found")
		for _, cmd := range []*exec.Cmd{tr, js} {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
		if madeCheck {
			_ = os.Remove(trainerCertCheck)
		}
	}
}

// trainResult is what the e2e runtime's trainer reports.
const trainResult = `{"artifact":{"uri":"s3://models/e2e-trainjob/retrained","format":"ONNX"},"metrics":{"auc":0.92},"dataset":{"uri":"s3://data/trainjob/2026-12-04"}}`

// e2eRuntime is a ClusterTrainingRuntime as a platform team would write
// one, hardened (the operator holds a runtime's pods to its retraining
// policy): one replicated job, node, where Kubeflow Trainer runs the
// trainer. Its pods report trainResult, as hack/kwok/stages.yaml completes
// them.
const e2eRuntime = `
apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata: {name: e2e-torch}
spec:
  mlPolicy: {numNodes: 1}
  template:
    spec:
      replicatedJobs:
      - name: node
        replicas: 1
        template:
          metadata:
            labels: {trainer.kubeflow.org/trainjob-ancestor-step: trainer}
          spec:
            backoffLimit: 0
            template:
              metadata:
                annotations: {aipm.io/e2e-result: '` + trainResult + `'}
              spec:
                restartPolicy: Never
                securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
                containers:
                - name: node
                  image: busybox:1.37
                  command: [sh, -c, 'printf %s "$RESULT" > /dev/termination-log']
                  env: [{name: RESULT, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['aipm.io/e2e-result']"}}}]
                  securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`

// trainJobRetraining retrains on the e2e runtime, two nodes.
const trainJobRetraining = `    retraining:
      onDrift: true
      backend: TrainJob
      trainJob:
        metadata: {labels: {team: e2e}}
        spec:
          runtimeRef: {name: e2e-torch}
          trainer: {numNodes: 2}
`

// jobSetResult is what the e2e JobSet's driver reports.
const jobSetResult = `{"artifact":{"uri":"s3://models/e2e-jobset/retrained","format":"ONNX"},"metrics":{"auc":0.9}}`

// jobSetRetraining retrains on a JobSet of a driver, which reports, and
// two workers, on request. Retraining needs a trigger besides requests: a
// schedule that fires only at midnight on 29 February, so that it never
// starts a run of its own while the suite runs (a daily one did, when the
// suite ran across its hour).
const jobSetRetraining = `    retraining:
      schedule: "0 0 29 2 *"
      backend: JobSet
      resultJob: driver
      jobSet:
        spec:
          replicatedJobs:
          - name: driver
            replicas: 1
            template:
              spec:
                backoffLimit: 0
                template:
                  metadata:
                    annotations: {aipm.io/e2e-result: '` + jobSetResult + `'}
                  spec:
                    containers:
                    - name: train
                      image: busybox:1.37
                      command: [sh, -c, 'printf %s "$RESULT" > /dev/termination-log']
                      env: [{name: RESULT, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['aipm.io/e2e-result']"}}}]
                      securityContext: {runAsUser: 65534}
          - name: workers
            replicas: 1
            template:
              spec:
                completions: 2
                parallelism: 2
                template:
                  metadata:
                    annotations: {aipm.io/e2e-result: '{}'}
                  spec:
                    containers:
                    - name: worker
                      image: busybox:1.37
                      securityContext: {runAsUser: 65534}
`

var _ = Describe("Kubeflow Trainer's and JobSet's own controllers", Ordered, Label("engines"), func() {
	BeforeAll(func() {
		// The operator runs already: it watches an engine's kind from the
		// first run that needs it, so it starts before the engines' CRDs.
		DeferCleanup(startEngines())
		apply(e2eRuntime)
	})

	It("closes the loop on a TrainJob: drift, one TrainJob that the real controllers run as a JobSet, Jobs and pods, a ModelVersion with lineage naming it, canary, production", func() {
		const name = "e2e-trainjob"
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.9)
		simSetSeen("feature_drift_psi", map[string]string{"product": name, "version": name + "-v1", "feature": "tenure"}, 0.05)
		simSetSeen("model_error_ratio", labels(name, name+"-v1-0-1"), 0.001)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + retrained(name, 1, trainJobRetraining))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		Expect(cond("aip", name, "RetrainingAllowed", "message")).To(ContainSubstring("the TrainJob template runs as an allowed ServiceAccount"))
		capacity := watchCapacity(name, 4)

		By("raising drift in the simulator: one RetrainingRun, one TrainJob")
		simSetSeen("feature_drift_psi", map[string]string{"product": name, "version": name + "-v1", "feature": "tenure"}, 0.4)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "condition=Drifted", "--timeout", "90s")
		var trainJob string
		Eventually(func() []string {
			out := kubectl("get", "trainjobs.trainer.kubeflow.org", "-n", "default", "-l", "lifecycle.aipm.io/product="+name, "-o", "name")
			return strings.Fields(out)
		}, "60s").Should(HaveLen(1), "exactly one TrainJob")
		trainJob = strings.TrimPrefix(strings.TrimSpace(kubectl("get", "trainjobs.trainer.kubeflow.org", "-n", "default",
			"-l", "lifecycle.aipm.io/product="+name, "-o", "name")), "trainjob.trainer.kubeflow.org/")
		Expect(jsonpath("trainjobs.trainer.kubeflow.org", trainJob, ".metadata.ownerReferences[0].kind")).To(Equal("RetrainingRun"))

		By("Kubeflow Trainer making the JobSet, JobSet making the node Job, its two pods completing")
		kubectl("wait", "trainjobs.trainer.kubeflow.org/"+trainJob, "-n", "default", "--for", "condition=Complete", "--timeout", "120s")
		Expect(jsonpath("jobsets.jobset.x-k8s.io", trainJob, ".metadata.ownerReferences[0].kind")).To(Equal("TrainJob"))
		Expect(jsonpath("jobsets.jobset.x-k8s.io", trainJob, `.status.conditions[?(@.type=="Completed")].status`)).To(Equal("True"))
		nodeJob := trainJob + "-node-0"
		Expect(jsonpath("job", nodeJob, ".metadata.ownerReferences[0].kind")).To(Equal("JobSet"))
		Expect(jsonpath("job", nodeJob, ".status.succeeded")).To(Equal("2"))
		Expect(kubectl("get", "pods", "-n", "default", "-l", "batch.kubernetes.io/job-name="+nodeJob,
			"-o", "jsonpath={range .items[*]}{.metadata.labels.batch\\.kubernetes\\.io/job-completion-index}={.status.phase} {end}")).
			To(And(ContainSubstring("0=Succeeded"), ContainSubstring("1=Succeeded")))

		By("the rank-0 pod's result becoming a ModelVersion that goes out by canary")
		mv := name + "-v1-0-1"
		kubectl("wait", "mv/"+mv, "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Expect(jsonpath("mv", mv, ".spec.lineage.trainingJob")).To(Equal(trainJob))
		Expect(jsonpath("mv", mv, ".spec.lineage.trainingKind")).To(Equal("TrainJob"))
		Expect(jsonpath("mv", mv, ".spec.lineage.trigger")).To(Equal("Drift"))
		Expect(jsonpath("mv", mv, ".spec.lineage.parentVersion")).To(Equal(name + "-v1"))
		Expect(jsonpath("mv", mv, ".spec.artifact.uri")).To(Equal("s3://models/e2e-trainjob/retrained"))
		Expect(jsonpath("aip", name, ".status.productionVersion")).To(Equal(mv))
		run := jsonpath("aip", name, ".status.retraining.lastRun.name")
		Expect(jsonpath("retrainingrun", run, ".status.workload.kind")).To(Equal("TrainJob"))
		Expect(jsonpath("retrainingrun", run, ".status.message")).To(Equal("TrainJob " + trainJob + " registered ModelVersion " + mv))
		Expect(strings.Fields(kubectl("get", "trainjobs.trainer.kubeflow.org", "-n", "default", "-l", "lifecycle.aipm.io/product="+name, "-o", "name"))).To(HaveLen(1))
		Expect(capacity.Lowest()).To(BeNumerically(">=", 4), "the retrained version's canary and promotion kept the 4 replicas available")
	})

	It("retrains on a JobSet the operator writes, which JobSet's controller runs: the driver's result becomes a ModelVersion", func() {
		const name = "e2e-jobset"
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.9)
		simSetSeen("model_error_ratio", labels(name, name+"-v1-0-1"), 0.001)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + retrained(name, 1, jobSetRetraining))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")
		kubectl("annotate", "aip/"+name, "-n", "default", "lifecycle.aipm.io/retrain=e2e-1")

		var jobSet string
		Eventually(func() []string {
			return strings.Fields(kubectl("get", "jobsets.jobset.x-k8s.io", "-n", "default", "-l", "lifecycle.aipm.io/product="+name, "-o", "name"))
		}, "60s").Should(HaveLen(1), "exactly one JobSet")
		jobSet = strings.TrimPrefix(strings.TrimSpace(kubectl("get", "jobsets.jobset.x-k8s.io", "-n", "default",
			"-l", "lifecycle.aipm.io/product="+name, "-o", "name")), "jobset.jobset.x-k8s.io/")
		Expect(jsonpath("jobsets.jobset.x-k8s.io", jobSet, ".metadata.ownerReferences[0].kind")).To(Equal("RetrainingRun"))
		Expect(jsonpath("jobsets.jobset.x-k8s.io", jobSet, ".spec.replicatedJobs[1].template.spec.template.spec.securityContext.runAsNonRoot")).
			To(Equal("true"), "hardened by the operator")
		kubectl("wait", "jobsets.jobset.x-k8s.io/"+jobSet, "-n", "default", "--for", "condition=Completed", "--timeout", "120s")
		Expect(jsonpath("job", jobSet+"-workers-0", ".status.succeeded")).To(Equal("2"))

		mv := name + "-v1-0-1"
		kubectl("wait", "mv/"+mv, "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Expect(jsonpath("mv", mv, ".spec.lineage.trainingJob")).To(Equal(jobSet))
		Expect(jsonpath("mv", mv, ".spec.lineage.trainingKind")).To(Equal("JobSet"))
		Expect(jsonpath("mv", mv, ".spec.lineage.trigger")).To(Equal("Manual"))
		Expect(jsonpath("mv", mv, ".spec.artifact.uri")).To(Equal("s3://models/e2e-jobset/retrained"))
	})
})
