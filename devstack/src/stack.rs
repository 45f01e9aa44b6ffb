//! Starting and stopping the whole stack, in dependency order: dev-idp (keys must be there
//! before the gateway fetches them), timesheet-svc, the gateway, then the importer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::configs::{self, Layout};
use crate::process::Component;
use crate::spec::{ImporterMode, StackSpec};
use crate::{Credentials, StackEnv, StackError};

/// How long a component may take to become ready. Generous: on a busy two-core machine a
/// debug build of the gateway fetching keys takes a few seconds.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The OpenTelemetry SDK's delay between two exports of finished spans, in milliseconds.
const ENV_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const BSP_SCHEDULE_DELAY_MS: &str = "500";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComponentName {
    Idp,
    Svc,
    Gateway,
    Importer,
}

impl ComponentName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idp => "dev-idp",
            Self::Svc => "timesheet-svc",
            Self::Gateway => "gateway",
            Self::Importer => "importer-svc",
        }
    }
}

pub struct Stack {
    pub spec: StackSpec,
    pub layout: Layout,
    pub credentials: Credentials,
    pub env: StackEnv,
    running: BTreeMap<ComponentName, Component>,
    /// Plain HTTP to loopback, for readiness probes.
    probe: reqwest::Client,
}

impl Stack {
    /// Prepares `spec.dir` (reusing what is there) and starts every component.
    pub async fn start(spec: StackSpec) -> Result<Self, StackError> {
        let mut stack = Self::prepare(spec)?;
        stack.start_component(ComponentName::Idp).await?;
        stack.start_component(ComponentName::Svc).await?;
        stack.start_component(ComponentName::Gateway).await?;
        if matches!(stack.spec.importer, ImporterMode::Daemon { .. }) {
            stack.start_component(ComponentName::Importer).await?;
        }
        Ok(stack)
    }

    /// Writes keys, certificates, credentials, configuration and `stack.env`; starts nothing.
    pub fn prepare(spec: StackSpec) -> Result<Self, StackError> {
        let layout = Layout::of(&spec);
        for dir in [
            &spec.dir,
            &layout.config_dir,
            &layout.tls_dir,
            &layout.keys_dir,
            &layout.data_dir,
            &layout.logs_dir,
        ] {
            std::fs::create_dir_all(dir).map_err(|e| StackError::io("creating", dir, e))?;
        }
        let credentials = Credentials::load_or_create(&spec.path("credentials.json"))?;
        ensure_tls(&spec, &layout)?;
        ensure_assertion_keys(&spec, &layout)?;
        configs::write_dev_idp(&spec, &layout, &credentials)?;
        configs::write_svc(&spec, &layout)?;
        configs::write_gateway(&spec, &layout)?;
        configs::write_importer(&spec, &layout, &credentials)?;
        let env = StackEnv::new(&spec, &layout, &credentials);
        env.write(&spec.path("stack.env"))?;
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|err| StackError::Config(format!("building the probe client: {err}")))?;
        Ok(Self {
            spec,
            layout,
            credentials,
            env,
            running: BTreeMap::new(),
            probe,
        })
    }

    pub fn config_file(&self, name: ComponentName) -> PathBuf {
        self.layout.file(match name {
            ComponentName::Idp => "dev-idp.toml",
            ComponentName::Svc => "timesheet-svc.toml",
            ComponentName::Gateway => "gateway.toml",
            ComponentName::Importer => "importer.toml",
        })
    }

    pub fn log_file(&self, name: ComponentName) -> PathBuf {
        self.layout.logs_dir.join(format!("{}.log", name.as_str()))
    }

    /// Starts one component and waits until it reports ready.
    pub async fn start_component(&mut self, name: ComponentName) -> Result<(), StackError> {
        let config = self.config_file(name).display().to_string();
        let log = self.log_file(name);
        let binary = self.spec.binary(name.as_str());
        let log_format = self.spec.log_format.clone();
        let p = self.spec.ports;
        let (args, envs, ready): (Vec<String>, Vec<(&str, String)>, String) = match name {
            ComponentName::Idp => (
                vec!["--config".into(), config],
                vec![],
                format!("http://127.0.0.1:{}/healthz", p.idp),
            ),
            ComponentName::Svc => (
                vec!["--config".into(), config],
                vec![(
                    "DATABASE_URL",
                    configs::svc_database_url(&self.spec, &self.layout),
                )],
                format!("http://127.0.0.1:{}/readyz", p.svc),
            ),
            ComponentName::Gateway => (
                vec!["--config".into(), config, "run".into()],
                vec![],
                format!("http://127.0.0.1:{}/readyz", p.gateway_admin),
            ),
            ComponentName::Importer => {
                let ImporterMode::Daemon { schedule } = &self.spec.importer else {
                    return Err(StackError::Config(
                        "the importer daemon is off in this spec".to_owned(),
                    ));
                };
                (
                    vec![
                        "--config".into(),
                        config,
                        "--log-format".into(),
                        log_format.clone(),
                        "daemon".into(),
                        "--schedule".into(),
                        schedule.clone(),
                        "--metrics-listen".into(),
                        format!("127.0.0.1:{}", p.importer_metrics),
                    ],
                    vec![],
                    format!("http://127.0.0.1:{}/healthz", p.importer_metrics),
                )
            }
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut envs = envs;
        if self.spec.otlp_endpoint.is_some() {
            // Export every half second rather than the SDK's five: a developer looking for a
            // trace, or a test waiting for one, sees it sooner. (The endpoint itself is in
            // each component's configuration file.)
            envs.push((ENV_BSP_SCHEDULE_DELAY, BSP_SCHEDULE_DELAY_MS.to_owned()));
        }
        envs.push((
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        ));
        let mut component = Component::spawn(name.as_str(), &binary, &args, &envs, &log)?;
        component
            .wait_ready(&self.probe, &ready, READY_TIMEOUT)
            .await?;
        self.running.insert(name, component);
        Ok(())
    }

    /// Graceful stop (SIGTERM, then SIGKILL after a grace period).
    pub async fn stop_component(&mut self, name: ComponentName) -> Option<String> {
        let component = self.running.remove(&name)?;
        Some(component.stop(STOP_GRACE).await)
    }

    /// SIGKILL: what a crash or an OOM kill looks like.
    pub async fn crash_component(&mut self, name: ComponentName) {
        if let Some(component) = self.running.remove(&name) {
            component.crash().await;
        }
    }

    pub async fn restart_component(&mut self, name: ComponentName) -> Result<(), StackError> {
        self.stop_component(name).await;
        self.start_component(name).await
    }

    pub fn signal(&self, name: ComponentName, signal: Signal) {
        if let Some(component) = self.running.get(&name) {
            component.signal(signal);
        }
    }

    pub fn is_running(&mut self, name: ComponentName) -> bool {
        self.running
            .get_mut(&name)
            .is_some_and(|c| c.exited().is_none())
    }

    /// Stops everything, the importer first and dev-idp last. Returns each exit status.
    pub async fn stop(mut self) -> Vec<(ComponentName, String)> {
        let mut statuses = Vec::new();
        while let Some((name, component)) = self.running.pop_last() {
            statuses.push((name, component.stop(STOP_GRACE).await));
        }
        statuses
    }
}

fn run_tool(binary: &Path, args: &[&str]) -> Result<(), StackError> {
    let output = std::process::Command::new(binary)
        .args(args)
        .output()
        .map_err(|source| StackError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(StackError::Command {
        command: format!("{} {}", binary.display(), args.join(" ")),
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// A development CA and server certificate, made once and kept: a browser or curl that trusts
/// the CA keeps trusting it across restarts.
fn ensure_tls(spec: &StackSpec, layout: &Layout) -> Result<(), StackError> {
    let ca_pem = layout.ca_cert();
    if ca_pem.exists() && layout.tls_dir.join("server.key").exists() {
        return Ok(());
    }
    let out = layout.tls_dir.display().to_string();
    run_tool(
        &spec.binary("gateway"),
        &["dev-cert", "--out", &out, "--hosts", "localhost"],
    )?;
    let ca_crt = layout.tls_dir.join("ca.crt");
    std::fs::copy(&ca_crt, &ca_pem).map_err(|e| StackError::io("copying the CA", &ca_crt, e))?;
    Ok(())
}

/// The gateway's assertion signing key and the public half the service trusts.
fn ensure_assertion_keys(spec: &StackSpec, layout: &Layout) -> Result<(), StackError> {
    let private = layout.keys_dir.join("assertion.key.pem");
    let public = layout.keys_dir.join("assertion.pub.pem");
    if private.exists() && public.exists() {
        return Ok(());
    }
    run_tool(
        &spec.binary("identity-assertion"),
        &[
            "keygen",
            "--private",
            &private.display().to_string(),
            "--public",
            &public.display().to_string(),
        ],
    )
}
