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
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// reliableProduct is a product that reaches Delivery through a short
// Sandbox experiment, takes the latest eligible version out by canary, and,
// with monitor, watches one drift statistic and retrains on it. Queries
// fall back to a harmless constant with `or vector(...)`, so only the series
// a test sets (a bad version's error ratio, a version's drift) change what
// the operator decides.
func reliableProduct(name, label string, steps string, driftFor string) string {
	out := `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: ` + label + `}}
spec:
  phase: Delivery
` + owners + `  strategy:
    assessment:
      value: {rating: High}
      usability: {rating: High}
      feasibility: {rating: High}
      viability: {rating: Medium}
    objectives:
    - {name: ctr, query: 'max(model_ctr{product=$product}) or vector(0.06)', target: "0.05", direction: AtLeast}
    evaluationInterval: 5s
  discovery:
    experiments:
    - name: offline
      type: Sandbox
      modelVersion: ` + name + `-v1
      duration: 10s
      interval: 5s
      successCriteria:
      - {name: auc, query: 'vector(0.93)', threshold: "0.8", direction: AtLeast}
  delivery:
    modelVersion: {policy: LatestEligible}
    serving:
      replicas: 2
      template:
        spec:
          containers: [{name: server, image: registry.k8s.io/pause:3.10}]
    rollout:
      steps:
` + steps
	if driftFor != "" {
		out += `    monitoring:
      interval: 5s
      drift:
      - {name: psi, feature: tenure, query: 'max(feature_drift_psi{product=$product, version=$version}) or vector(0.01)', threshold: "0.2", statistic: PSI, for: ` + driftFor + `}
` + retraining + `    promotion:
      requirements: [{metric: auc, min: "0.85"}]
`
	}
	return out
}

// canary is 50%, an analysis of count measurements a second apart on the
// version's error ratio, then 100%.
func canary(count int) string {
	return `      - setWeight: 50
      - analysis:
          interval: 1s
          count: ` + fmt.Sprint(count) + `
          metrics:
          - {name: error-ratio, query: 'max(model_error_ratio{product=$product, version=$version}) or vector(0.001)', threshold: "0.01", direction: AtMost}
      - setWeight: 100
`
}

func labelledVersion(product, name, semver, label string) string {
	return strings.Replace(version(product, name, semver, "0.9"), "labels: {e2e: aipm}", "labels: {e2e: "+label+"}", 1)
}

func names(kind, selector string) []string {
	out, err := kubectlMaybe("get", kind, "-n", "default", "-l", selector, "-o", "name")
	if err != nil || out == "" {
		return nil
	}
	var ns []string
	for _, f := range strings.Fields(out) {
		ns = append(ns, f[strings.Index(f, "/")+1:])
	}
	sort.Strings(ns)
	return ns
}

// num reads a number jsonpath printed, 0 when there is none yet.
func num(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// logHas reports whether a process's log file holds text.
func logHas(cmd *exec.Cmd, text string) bool {
	f, ok := cmd.Stdout.(*os.File)
	if !ok {
		return false
	}
	b, err := os.ReadFile(f.Name())
	return err == nil && strings.Contains(string(b), text)
}

var _ = Describe("Reliability", Label("reliability"), Ordered, func() {
	BeforeAll(func() {
		if onKind {
			Skip("the reliability scenarios kill and restart the operator and Prometheus as local processes: kwokctl only")
		}
		DeferCleanup(func() {
			kubectl("delete", "aiproducts,modelversions,experiments,retrainingruns,jobs", "-n", "default", "-l", "e2e in (chaos,leader,outage)", "--ignore-not-found", "--wait")
		})
	})

	It("loses nothing while the operator is killed with SIGKILL at random moments, at least 50 times", func() {
		const products, minKills = 20, 50
		stopSuiteOperator()
		DeferCleanup(startSuiteOperator)

		name := func(i int) string { return fmt.Sprintf("chaos-%02d", i) }
		// Every product drifts on v1 when i is even, so retrains once; v2
		// is bad (error ratio 0.2) when i%4 is 2 or 3.
		bad := map[string]bool{}
		for i := range products {
			if i%2 == 0 {
				simSetSeen("feature_drift_psi", map[string]string{"product": name(i), "version": name(i) + "-v1", "feature": "tenure"}, 0.4)
			}
			if i%4 >= 2 {
				bad[name(i)+"-v2"] = true
				simSetSeen("model_error_ratio", labels(name(i), name(i)+"-v2"), 0.2)
			}
		}

		By("watching every stage every ModelVersion passes through")
		watch := start(kubectlBin, "get", "mv", "-n", "default", "-l", "e2e=chaos", "-w",
			"-o", `jsonpath={.metadata.name}{" "}{.status.stage}{"\n"}`)
		DeferCleanup(func() { _ = watch.Process.Kill() })

		By("killing the operator at random moments while the products roll out and retrain")
		rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 9))
		var kills atomic.Int32
		var mu sync.Mutex
		op := startOperator(operatorMetricsAddr, "--leader-elect=false")
		stop, done := make(chan struct{}), make(chan struct{})
		var stopOnce sync.Once
		halt := func() { stopOnce.Do(func() { close(stop) }); <-done }
		go func() {
			defer GinkgoRecover()
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(200+rng.IntN(1800)) * time.Millisecond):
				}
				mu.Lock()
				Expect(op.Process.Signal(syscall.SIGKILL)).To(Succeed())
				_ = op.Wait()
				kills.Add(1)
				op = startOperator(operatorMetricsAddr, "--leader-elect=false")
				mu.Unlock()
			}
		}()
		DeferCleanup(func() {
			halt()
			_ = op.Process.Signal(syscall.SIGTERM)
			_ = op.Wait()
		})
		startedAt := time.Now()

		var manifest strings.Builder
		for i := range products {
			drift := ""
			if i%2 == 0 {
				drift = "5s"
			}
			manifest.WriteString(labelledVersion(name(i), name(i)+"-v1", "1.0.0", "chaos") + "---" +
				reliableProduct(name(i), "chaos", canary(3), drift) + "---\n")
		}
		apply(manifest.String())
		Eventually(func(g Gomega) {
			for i := range products {
				want := name(i) + "-v1"
				if i%2 == 0 {
					want = name(i) + "-v1-0-1"
				}
				g.Expect(jsonpath("aip", name(i), ".status.productionVersion")).To(Equal(want), name(i))
			}
		}, 6*time.Minute, time.Second).Should(Succeed())
		phaseA := time.Since(startedAt)

		By("rolling v2 out everywhere, still under fire")
		manifest.Reset()
		for i := range products {
			manifest.WriteString(labelledVersion(name(i), name(i)+"-v2", "2.0.0", "chaos") + "---\n")
		}
		apply(manifest.String())
		Eventually(func(g Gomega) {
			for i := range products {
				g.Expect(jsonpath("aip", name(i), ".status.rollout.canaryVersion")).To(Equal(name(i)+"-v2"), name(i))
				g.Expect(jsonpath("aip", name(i), ".status.rollout.phase")).To(BeElementOf("Succeeded", "Aborted"), name(i))
			}
		}, 6*time.Minute, time.Second).Should(Succeed())
		Eventually(kills.Load, 5*time.Minute, time.Second).Should(BeNumerically(">=", minKills))
		halt()
		underFire := time.Since(startedAt)

		By("checking, with the operator left running, that everything converged and nothing was lost or done twice")
		var jobsSeen, versionsSeen, retrained, succeeded, aborted int
		Eventually(func(g Gomega) {
			jobsSeen, versionsSeen, retrained, succeeded, aborted = 0, 0, 0, 0, 0
			for i := range products {
				p := name(i)
				sel := "lifecycle.aipm.io/product=" + p
				jobs := names("jobs", sel)
				versions := names("mv", sel)
				jobsSeen += len(jobs)
				versionsSeen += len(versions)
				wantProd, wantVersions := p+"-v2", []string{p + "-v1", p + "-v2"}
				if i%4 >= 2 {
					wantProd = p + "-v1"
				}
				if i%2 == 0 {
					g.Expect(jobs).To(HaveLen(1), "%s: exactly one retraining Job", p)
					wantVersions = []string{p + "-v1", p + "-v1-0-1", p + "-v2"}
					if i%4 == 2 {
						wantProd = p + "-v1-0-1"
					}
					g.Expect(jsonpath("mv", p+"-v1-0-1", ".spec.lineage.trainingJob")).To(Equal(jobs[0]), p)
					g.Expect(jsonpath("mv", p+"-v1-0-1", ".spec.lineage.trigger")).To(Equal("Drift"), p)
					g.Expect(jsonpath("job", jobs[0], ".status.succeeded")).To(Equal("1"), p)
					retrained++
				} else {
					g.Expect(jobs).To(BeEmpty(), "%s: no retraining Job", p)
				}
				g.Expect(versions).To(Equal(wantVersions), "%s: no ModelVersion lost or duplicated", p)
				g.Expect(jsonpath("aip", p, ".status.productionVersion")).To(Equal(wantProd), p)
				g.Expect(jsonpath("mv", wantProd, ".status.stage")).To(Equal("Production"), p)
				phase := jsonpath("aip", p, ".status.rollout.phase")
				if bad[p+"-v2"] {
					g.Expect(phase).To(Equal("Aborted"), p)
					g.Expect(jsonpath("mv", p+"-v2", ".status.stage")).To(Equal("Rejected"), p)
					aborted++
				} else {
					g.Expect(phase).To(Equal("Succeeded"), p)
					succeeded++
				}
				// Nothing half-done: the production version alone serves, at
				// full size, and no canary is left behind.
				var serving []string
				for _, d := range names("deployments", sel) {
					if !strings.Contains(d, "-exp-") {
						serving = append(serving, d)
					}
				}
				g.Expect(serving).To(Equal([]string{wantProd}), "%s: serving Deployments", p)
				g.Expect(jsonpath("deploy", wantProd, ".status.availableReplicas")).To(Equal("2"), p)
			}
		}, 3*time.Minute, time.Second).Should(Succeed())

		By("checking that no version whose analysis failed was ever in Production")
		_ = watch.Process.Kill()
		_ = watch.Wait()
		f, err := os.Open(watch.Stdout.(*os.File).Name())
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		transitions, last := 0, map[string]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 2 {
				continue
			}
			if last[fields[0]] != fields[1] {
				transitions++
				last[fields[0]] = fields[1]
			}
			Expect(bad[fields[0]] && fields[1] == "Production").To(BeFalse(), "%s was seen in Production", fields[0])
		}
		Expect(sc.Err()).NotTo(HaveOccurred())
		Expect(transitions).To(BeNumerically(">=", 2*products))

		GinkgoWriter.Printf("chaos: %d SIGKILLs over %s (first phase %s); %d products, %d ModelVersions (%d retrained, "+
			"each with exactly one Job; %d Jobs in all), %d rollouts Succeeded, %d Aborted; %d stage transitions watched, "+
			"none of the %d bad versions ever in Production\n",
			kills.Load(), underFire.Round(time.Second), phaseA.Round(time.Second), products, versionsSeen, retrained,
			jobsSeen, succeeded, aborted, transitions, len(bad))
	})

	It("hands leadership over when the leader dies, and at once when it shuts down", func() {
		stopSuiteOperator()
		DeferCleanup(startSuiteOperator)
		holder := func() string {
			out, _ := kubectlMaybe("get", "lease", "aipm-operator.lifecycle.aipm.io", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}")
			return out
		}
		const acquired = `"msg":"Successfully acquired lease","lock":"default/aipm-operator.lifecycle.aipm.io"`

		a := startOperator(freePort())
		Eventually(func() bool { return logHas(a, acquired) }, time.Minute).Should(BeTrue())
		b := startOperator(freePort())
		Eventually(func() bool { return logHas(b, "Attempting to acquire leader lease") }).Should(BeTrue())
		first := holder()
		Expect(first).NotTo(BeEmpty())

		// acts measures how long a change waits for the leader: a new
		// product whose status the operator must write.
		acts := func(product string, since time.Time) time.Duration {
			apply(`
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + product + `, namespace: default, labels: {e2e: leader}}
spec:
  phase: Strategy
` + owners + `  strategy: {assessment: {value: {rating: High}}}
`)
			Eventually(func() string { return jsonpath("aip", product, ".status.phase") }, time.Minute, 100*time.Millisecond).Should(Equal("Strategy"))
			return time.Since(since)
		}

		By("killing the leader with SIGKILL: the standby takes over once the Lease expires")
		killed := time.Now()
		Expect(a.Process.Signal(syscall.SIGKILL)).To(Succeed())
		_ = a.Wait()
		afterKill := acts("leader-after-kill", killed)
		Expect(logHas(b, acquired)).To(BeTrue())
		Expect(holder()).NotTo(Equal(first))
		// The Lease lasts 15s and is retried every 2s (controller-runtime's
		// defaults): the standby must act within that, plus a margin for a
		// loaded machine.
		Expect(afterKill).To(BeNumerically("<", 25*time.Second))

		By("stopping the new leader with SIGTERM: it releases the Lease and a standby takes over at its next try")
		c := startOperator(freePort())
		Eventually(func() bool { return logHas(c, "Attempting to acquire leader lease") }).Should(BeTrue())
		second := holder()
		stopped := time.Now()
		Expect(b.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Expect(b.Wait()).To(Succeed(), "a graceful shutdown exits 0")
		released := time.Since(stopped)
		afterStop := acts("leader-after-stop", stopped)
		Expect(logHas(c, acquired)).To(BeTrue())
		Expect(holder()).NotTo(Equal(second))
		Expect(afterStop).To(BeNumerically("<", 8*time.Second))
		Expect(c.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Expect(c.Wait()).To(Succeed())

		GinkgoWriter.Printf("leader election: after SIGKILL of the leader the standby acted in %s; "+
			"after SIGTERM the leader exited in %s and the standby acted in %s\n",
			afterKill.Round(100*time.Millisecond), released.Round(100*time.Millisecond), afterStop.Round(100*time.Millisecond))
	})

	It("pauses a rollout and drift monitoring through a Prometheus outage of minutes, and resumes without a burst of retraining", func() {
		const outage = 2 * time.Minute
		roll, drifting := "outage-roll", "outage-drift"
		apply(labelledVersion(roll, roll+"-v1", "1.0.0", "outage") + "---" + reliableProduct(roll, "outage", canary(15), "") +
			"---" + labelledVersion(drifting, drifting+"-v1", "1.0.0", "outage") + "---" + reliableProduct(drifting, "outage", canary(1), "20s"))
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", roll, ".status.productionVersion")).To(Equal(roll + "-v1"))
			g.Expect(jsonpath("aip", drifting, ".status.productionVersion")).To(Equal(drifting + "-v1"))
			g.Expect(jsonpath("aip", drifting, ".status.driftState")).To(Equal("None"))
			g.Expect(cond("aip", roll, "ObjectivesMet", "status")).To(Equal("True"))
		}, 2*time.Minute).Should(Succeed())

		By("starting a long canary, and a drift breach that has not yet lasted its for")
		apply(labelledVersion(roll, roll+"-v2", "2.0.0", "outage"))
		Eventually(func() int { return num(jsonpath("aip", roll, ".status.rollout.analysis[0].measurements")) }).Should(BeNumerically(">=", 2))
		simSetSeen("feature_drift_psi", map[string]string{"product": drifting, "version": drifting + "-v1", "feature": "tenure"}, 0.4)
		Eventually(func() string { return jsonpath("aip", drifting, ".status.driftState") }).Should(Equal("Breached"))

		By("stopping Prometheus")
		stopPrometheus()
		down := time.Now()
		Eventually(func(g Gomega) {
			g.Expect(jsonpath("aip", roll, ".status.rollout.phase")).To(Equal("Inconclusive"))
			g.Expect(jsonpath("aip", roll, ".status.rollout.prometheusUnavailableSince")).NotTo(BeEmpty())
			g.Expect(jsonpath("aip", drifting, ".status.driftState")).To(Equal("Unknown"))
			g.Expect(cond("aip", roll, "ObjectivesMet", "status")).To(Equal("Unknown"))
			g.Expect(cond("aip", roll, "ObjectivesMet", "message")).To(ContainSubstring("prometheus unavailable"))
		}).Should(Succeed())
		paused := time.Since(down)
		measuredBefore := jsonpath("aip", roll, ".status.rollout.analysis[0].measurements")
		Consistently(func(g Gomega) {
			g.Expect(jsonpath("aip", roll, ".status.rollout.phase")).To(Equal("Inconclusive"))
			g.Expect(jsonpath("aip", roll, ".status.rollout.weight")).To(Equal("50"))
			g.Expect(jsonpath("aip", roll, ".status.rollout.analysis[0].measurements")).To(Equal(measuredBefore))
			g.Expect(jsonpath("aip", roll, ".status.productionVersion")).To(Equal(roll + "-v1"))
			g.Expect(names("jobs", "lifecycle.aipm.io/product="+drifting)).To(BeEmpty())
		}, outage-time.Since(down), 2*time.Second).Should(Succeed())

		By("starting Prometheus again")
		startPrometheus()
		up := time.Now()
		Eventually(func() string { return jsonpath("aip", roll, ".status.rollout.phase") }).Should(Equal("Progressing"))
		resumed := time.Since(up)
		// It resumes where it was: the next measurement adds to the count
		// taken before the outage instead of starting over.
		Eventually(func() int { return num(jsonpath("aip", roll, ".status.rollout.analysis[0].measurements")) }).
			Should(BeNumerically(">", num(measuredBefore)))
		Eventually(func() string { return jsonpath("aip", drifting, ".status.driftState") }).Should(Equal("Breached"))
		// The breach seen before the outage does not count: it must last its
		// 20s again, so no Job for a while after recovery, then exactly one.
		Consistently(func() []string { return names("jobs", "lifecycle.aipm.io/product="+drifting) }, 10*time.Second).Should(BeEmpty())
		Eventually(func() []string { return names("jobs", "lifecycle.aipm.io/product="+drifting) }, time.Minute).Should(HaveLen(1))
		firstJob := time.Since(up)
		kubectl("wait", "mv/"+roll+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")
		Eventually(func() string { return cond("aip", roll, "ObjectivesMet", "status") }).Should(Equal("True"))
		Consistently(func() []string { return names("jobs", "lifecycle.aipm.io/product="+drifting) }, 10*time.Second).Should(HaveLen(1))

		GinkgoWriter.Printf("prometheus outage of %s: rollout Inconclusive %s after the stop; analysis resumed %s after the restart; "+
			"the one retraining Job came %s after the restart (drift for: 20s); %s of 15 measurements taken before the outage, none during it\n",
			outage, paused.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond), firstJob.Round(100*time.Millisecond), measuredBefore)
	})
})
