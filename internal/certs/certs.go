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

// Package certs keeps the webhook's serving certificate without
// cert-manager: a CA and a certificate it signs, kept in one Secret of the
// operator's namespace so that every replica serves the same, renewed
// before they expire, written where the webhook server reads them, and
// the CA given to the API server in the ValidatingWebhookConfiguration.
package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Keys of the Secret.
const (
	CAKey   = "ca.crt"
	CertKey = "tls.crt"
	KeyKey  = "tls.key"
	caKey   = "ca.key"
)

// Lifetimes: the CA outlives many serving certificates; a certificate is
// renewed once less than a third of its life is left.
const (
	caLife   = 10 * 365 * 24 * time.Hour
	certLife = 365 * 24 * time.Hour
)

// Rotator keeps the Secret, the files and the caBundle.
type Rotator struct {
	Client client.Client
	// Secret holds the CA, its key, the certificate and its key. It must
	// exist: the operator may get and update it, not create any Secret.
	Secret types.NamespacedName
	// Webhook is the ValidatingWebhookConfiguration whose caBundle is set.
	Webhook string
	// DNSNames the certificate is for: the webhook Service's names.
	DNSNames []string
	// CertDir is where tls.crt and tls.key are written for the server.
	CertDir string
	// Check is how often the certificate is looked at again.
	Check time.Duration
	Now   func() time.Time
	// Ready is closed once the files are written the first time.
	Ready chan struct{}
}

// Start keeps the certificate until ctx ends. Every replica runs it:
// each writes its own files, and an update of the Secret that loses to
// another replica's is read back, never forced.
func (r *Rotator) Start(ctx context.Context) error {
	if r.Check <= 0 {
		r.Check = time.Hour
	}
	log := logf.FromContext(ctx).WithName("webhook-certs")
	ready := false
	for {
		err := r.Ensure(ctx)
		switch {
		case err != nil:
			log.Error(err, "keeping the webhook certificate; trying again")
		case !ready:
			ready = true
			if r.Ready != nil {
				close(r.Ready)
			}
		}
		wait := r.Check
		if err != nil {
			wait = 5 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (r *Rotator) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// NeedLeaderElection: every replica serves the webhook.
func (r *Rotator) NeedLeaderElection() bool { return false }

// Ensure makes the Secret hold a valid CA and certificate, writes them for
// the server, and sets the webhook's caBundle.
func (r *Rotator) Ensure(ctx context.Context) error {
	var s corev1.Secret
	if err := r.Client.Get(ctx, r.Secret, &s); err != nil {
		return fmt.Errorf("reading Secret %s: %w", r.Secret, err)
	}
	if !r.valid(s.Data) {
		data, err := r.issue(s.Data)
		if err != nil {
			return err
		}
		s.Data = data
		if err := r.Client.Update(ctx, &s); err != nil {
			if apierrors.IsConflict(err) {
				// Another replica renewed it first: take theirs next round.
				return fmt.Errorf("another replica renewed the certificate: %w", err)
			}
			return fmt.Errorf("writing Secret %s: %w", r.Secret, err)
		}
	}
	if err := r.write(s.Data); err != nil {
		return err
	}
	return r.inject(ctx, s.Data[CAKey])
}

// valid reports whether data holds a CA and a certificate it signed for
// the names, with more than a third of their life left.
func (r *Rotator) valid(data map[string][]byte) bool {
	ca, err1 := parse(data[CAKey])
	cert, err2 := parse(data[CertKey])
	if err1 != nil || err2 != nil || len(data[KeyKey]) == 0 || len(data[caKey]) == 0 {
		return false
	}
	if _, err := tls.X509KeyPair(data[CertKey], data[KeyKey]); err != nil {
		return false
	}
	now := r.now()
	fresh := func(c *x509.Certificate) bool {
		return now.After(c.NotBefore) && now.Before(c.NotAfter.Add(-c.NotAfter.Sub(c.NotBefore)/3))
	}
	if !fresh(ca) || !fresh(cert) || cert.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, n := range r.DNSNames {
		if cert.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

// issue makes a certificate for the names, signed by the CA in data when
// that CA is still fresh, else by a new one.
func (r *Rotator) issue(data map[string][]byte) (map[string][]byte, error) {
	now := r.now()
	caCert, caErr := parse(data[CAKey])
	caPriv, keyErr := parseKey(data[caKey])
	if caErr != nil || keyErr != nil || now.After(caCert.NotAfter.Add(-caCert.NotAfter.Sub(caCert.NotBefore)/3)) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "aipm-operator webhook CA"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caLife), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, err
		}
		if caCert, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		caPriv = key
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: r.DNSNames[0]}, DNSNames: r.DNSNames,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLife), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caPriv)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	caKeyDER, err := x509.MarshalECPrivateKey(caPriv)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		CAKey:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}),
		caKey:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKeyDER}),
		CertKey: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// write puts the certificate where the server reads it, only when it
// changed: the server's watcher reloads on each write.
func (r *Rotator) write(data map[string][]byte) error {
	if err := os.MkdirAll(r.CertDir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{KeyKey, CertKey} {
		path := filepath.Join(r.CertDir, k)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data[k]) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data[k], 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}

// inject sets the CA as every webhook's caBundle.
func (r *Rotator) inject(ctx context.Context, ca []byte) error {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.Webhook}, &vwc); err != nil {
		return fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", r.Webhook, err)
	}
	patch := client.MergeFrom(vwc.DeepCopy())
	changed := false
	for i := range vwc.Webhooks {
		if !bytes.Equal(vwc.Webhooks[i].ClientConfig.CABundle, ca) {
			vwc.Webhooks[i].ClientConfig.CABundle = ca
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return r.Client.Patch(ctx, &vwc, patch)
}

func parse(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(p []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
