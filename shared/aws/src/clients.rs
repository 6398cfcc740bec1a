//! The one place that builds AWS clients.
//!
//! Endpoints come from the SDK's standard variables (`AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), so the local stack needs no "is local" branch in production code.
//! Every client gets the attempt and operation timeouts of its [`CallPath`], so an unreachable
//! or stalled dependency is an answer (503) within a known bound, never a hang.
//!
//! Every client also carries the function's [`PolicyGuard`] when `LATCHKEY_IAM_POLICIES` names
//! a file of the policies `template.yaml` grants (the local stack writes it): a call the
//! function's policy does not grant then fails as it would in AWS, and each action a function
//! calls is appended to `LATCHKEY_IAM_CALLS` so a test can hold the policies to the code.
//!
//! When `LATCHKEY_STORAGE_METER` names a file (the local benchmark sets it), DynamoDB clients also
//! carry a [`StorageMeter`] that appends every call and the items it writes there, so storage
//! calls and writes per verification are measured, not estimated.

use std::{
    collections::{HashMap, HashSet},
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
pub use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::{
    interceptors::{Intercept, context::BeforeSerializationInterceptorContextRef},
    orchestrator::Metadata,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::config_bag::ConfigBag;

/// Loads the shared SDK configuration (region, credentials, endpoints) from the environment.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// What a client's calls serve, which decides how long they may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallPath {
    /// Key verification and the authorizer: a caller's request waits on it.
    Verification,
    /// The management API.
    Api,
    /// The worker and the sweeper: no one waits, but a Lambda timeout bounds the batch.
    Background,
}

impl CallPath {
    /// (one attempt, the whole call with its retries, attempts at most).
    pub const fn limits(self) -> (Duration, Duration, u32) {
        match self {
            Self::Verification => (Duration::from_millis(300), Duration::from_millis(900), 2),
            Self::Api => (Duration::from_millis(1000), Duration::from_millis(2500), 3),
            Self::Background => (Duration::from_secs(5), Duration::from_secs(20), 5),
        }
    }

    fn timeouts(self) -> TimeoutConfig {
        let (attempt, operation, _) = self.limits();
        TimeoutConfig::builder()
            .connect_timeout(attempt)
            .operation_attempt_timeout(attempt)
            .operation_timeout(operation)
            .build()
    }

    fn retries(self) -> RetryConfig {
        RetryConfig::standard().with_max_attempts(self.limits().2)
    }
}

/// Builds the AWS clients of one function.
#[derive(Clone, Debug)]
pub struct Aws {
    sdk: SdkConfig,
    guard: Option<PolicyGuard>,
    meter: Option<StorageMeter>,
}

impl Aws {
    /// The clients of `function` (its name in `template.yaml`'s `Binary`), configured from the
    /// environment.
    pub async fn load(function: &'static str) -> Self {
        Self {
            sdk: load_sdk_config().await,
            guard: PolicyGuard::from_env(function),
            meter: StorageMeter::from_env(function),
        }
    }

    /// Clients over `sdk` with no policy guard: for tests and tools that are no function.
    pub fn unguarded(sdk: SdkConfig) -> Self {
        Self {
            sdk,
            guard: None,
            meter: None,
        }
    }

    /// A DynamoDB client for calls on `path`.
    pub fn dynamodb(&self, path: CallPath) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .timeout_config(path.timeouts())
            .retry_config(path.retries());
        if let Some(guard) = &self.guard {
            config = config.interceptor(guard.clone());
        }
        if let Some(meter) = &self.meter {
            config = config.interceptor(meter.clone());
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    /// A Secrets Manager client for calls on `path`.
    pub fn secrets_manager(&self, path: CallPath) -> aws_sdk_secretsmanager::Client {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
            .timeout_config(path.timeouts())
            .retry_config(path.retries());
        if let Some(guard) = &self.guard {
            config = config.interceptor(guard.clone());
        }
        aws_sdk_secretsmanager::Client::from_conf(config.build())
    }

    /// The value of the secret `id` (a name or ARN), read once at cold start: the deployment's
    /// secrets live in Secrets Manager, never in a parameter or an environment variable.
    pub async fn secret(&self, id: &str) -> Result<String, BoxError> {
        let out = self
            .secrets_manager(CallPath::Background)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await?;
        out.secret_string
            .ok_or_else(|| format!("the secret {id} holds no string").into())
    }

    /// An S3 client for calls on `path`. With an endpoint of its own (`AWS_ENDPOINT_URL_S3`,
    /// the local stack's moto), buckets are addressed by path, as such endpoints serve them.
    pub fn s3(&self, path: CallPath) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .timeout_config(path.timeouts())
            .retry_config(path.retries())
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL_S3").is_some());
        if let Some(guard) = &self.guard {
            config = config.interceptor(guard.clone());
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    /// An SQS client for calls on `path`.
    pub fn sqs(&self, path: CallPath) -> aws_sdk_sqs::Client {
        let mut config = aws_sdk_sqs::config::Builder::from(&self.sdk)
            .timeout_config(path.timeouts())
            .retry_config(path.retries());
        if let Some(guard) = &self.guard {
            config = config.interceptor(guard.clone());
        }
        aws_sdk_sqs::Client::from_conf(config.build())
    }
}

impl latchkey_core::config::SecretSource for Aws {
    fn secret(&self, id: &str) -> impl Future<Output = Result<String, BoxError>> + Send {
        Aws::secret(self, id)
    }
}

/// Holds a function's AWS calls to the IAM policy `template.yaml` grants it (see the module doc).
#[derive(Clone, Debug)]
pub struct PolicyGuard {
    function: &'static str,
    granted: Arc<HashSet<String>>,
    calls: Option<Arc<Mutex<CallLog>>>,
}

#[derive(Debug)]
struct CallLog {
    path: String,
    written: HashSet<String>,
}

impl PolicyGuard {
    fn from_env(function: &'static str) -> Option<Self> {
        let path = std::env::var("LATCHKEY_IAM_POLICIES").ok()?;
        let policies: HashMap<String, Vec<String>> = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_else(|| panic!("LATCHKEY_IAM_POLICIES: {path} is not a JSON policy map"));
        let calls = std::env::var("LATCHKEY_IAM_CALLS").ok().map(|path| {
            Arc::new(Mutex::new(CallLog {
                path,
                written: HashSet::new(),
            }))
        });
        Some(Self::new(
            function,
            policies.get(function).cloned().unwrap_or_default(),
            calls,
        ))
    }

    fn new(
        function: &'static str,
        granted: impl IntoIterator<Item = String>,
        calls: Option<Arc<Mutex<CallLog>>>,
    ) -> Self {
        Self {
            function,
            granted: Arc::new(granted.into_iter().collect()),
            calls,
        }
    }

    /// The IAM action that authorizes an SDK operation: `dynamodb:GetItem` for `DynamoDB` /
    /// `GetItem`. SQS authorizes its batch operations by their single-message actions.
    fn action(metadata: &Metadata) -> String {
        let service = metadata.service().to_ascii_lowercase().replace(' ', "");
        let name = metadata.name();
        let name = match service.as_str() {
            "sqs" => name.strip_suffix("Batch").unwrap_or(name),
            _ => name,
        };
        format!("{service}:{name}")
    }

    fn check(&self, action: &str) -> Result<(), BoxError> {
        if let Some(calls) = &self.calls {
            let mut log = calls.lock().expect("lock");
            if log.written.insert(action.to_owned()) {
                let line = format!("{} {action}\n", self.function);
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log.path)
                    .and_then(|mut file| file.write_all(line.as_bytes()));
                if let Err(err) = appended {
                    tracing::warn!(error = %err, "could not record an AWS call");
                }
            }
        }
        if self.granted.contains(action) {
            Ok(())
        } else {
            tracing::error!(
                function = self.function,
                action,
                "AccessDenied: the function's policy in template.yaml does not grant this action"
            );
            Err(format!("AccessDenied: {} may not call {action}", self.function).into())
        }
    }
}

impl Intercept for PolicyGuard {
    fn name(&self) -> &'static str {
        "PolicyGuard"
    }

    /// Runs once the operation's own configuration (which names it) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        // IAM has no action for a transaction: it authorizes each item's own action.
        if let Some(transaction) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            for item in transaction.transact_items() {
                let action = match item {
                    i if i.put.is_some() => "dynamodb:PutItem",
                    i if i.update.is_some() => "dynamodb:UpdateItem",
                    i if i.delete.is_some() => "dynamodb:DeleteItem",
                    _ => "dynamodb:ConditionCheckItem",
                };
                self.check(action)?;
            }
            return Ok(());
        }
        let action = cfg.load::<Metadata>().map(Self::action).unwrap_or_default();
        self.check(&action)
    }
}

/// Appends each DynamoDB call of a function to the file `LATCHKEY_STORAGE_METER` names, as
/// `<function> <operation> <items written> <unix milliseconds>` (see the module doc). A line is
/// one `write` to a file opened for appending, so the lines of several processes do not
/// interleave.
#[derive(Clone, Debug)]
pub struct StorageMeter {
    function: &'static str,
    file: Arc<Mutex<std::fs::File>>,
}

impl StorageMeter {
    fn from_env(function: &'static str) -> Option<Self> {
        let path = std::env::var("LATCHKEY_STORAGE_METER").ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|err| panic!("LATCHKEY_STORAGE_METER: cannot open {path}: {err}"));
        Some(Self {
            function,
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The items a DynamoDB call writes: one for a put, update or delete, each request of a
    /// batch, each item of a transaction (DynamoDB bills a transaction's items twice; this counts
    /// items).
    fn items_written(
        input: &aws_smithy_runtime_api::client::interceptors::context::Input,
    ) -> usize {
        use aws_sdk_dynamodb::operation::{
            batch_write_item::BatchWriteItemInput, delete_item::DeleteItemInput,
            put_item::PutItemInput, transact_write_items::TransactWriteItemsInput,
            update_item::UpdateItemInput,
        };
        if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
            batch
                .request_items()
                .map(|tables| tables.values().map(Vec::len).sum())
                .unwrap_or(0)
        } else if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            transaction.transact_items().len()
        } else {
            usize::from(
                input.downcast_ref::<PutItemInput>().is_some()
                    || input.downcast_ref::<UpdateItemInput>().is_some()
                    || input.downcast_ref::<DeleteItemInput>().is_some(),
            )
        }
    }
}

impl Intercept for StorageMeter {
    fn name(&self) -> &'static str {
        "StorageMeter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("?");
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let line = format!(
            "{} {operation} {} {at}\n",
            self.function,
            Self::items_written(context.input())
        );
        let written = self
            .file
            .lock()
            .expect("meter lock")
            .write_all(line.as_bytes());
        if let Err(err) = written {
            tracing::warn!(error = %err, "could not meter a storage call");
        }
        Ok(())
    }
}

/// Whether a failed AWS call failed for a reason that passes (a timeout, a connection that could
/// not be made, throttling, a server-side error), so the client is told to retry (503) rather
/// than that the server is broken (500).
pub fn is_transient<E, R>(err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "InternalFailure"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
                    | "AWS.SimpleQueueService.ServiceUnavailable"
                    | "RequestThrottled"
            )
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_grants_only_what_the_policy_names_and_records_every_call() {
        let dir = std::env::temp_dir().join(format!("latchkey-iam-{}", uuid::Uuid::new_v4()));
        let log = dir.with_extension("log");
        let guard = PolicyGuard::new(
            "authorizer",
            ["dynamodb:GetItem".to_owned()],
            Some(Arc::new(Mutex::new(CallLog {
                path: log.to_string_lossy().into_owned(),
                written: HashSet::new(),
            }))),
        );
        assert!(guard.check("dynamodb:GetItem").is_ok());
        assert!(guard.check("dynamodb:GetItem").is_ok());
        let denied = guard.check("dynamodb:PutItem").unwrap_err();
        assert!(denied.to_string().contains("AccessDenied"));
        let recorded = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            recorded,
            "authorizer dynamodb:GetItem\nauthorizer dynamodb:PutItem\n"
        );
        let _ = std::fs::remove_file(log);
        assert_eq!(
            PolicyGuard::action(&Metadata::new("BatchWriteItem", "DynamoDB")),
            "dynamodb:BatchWriteItem"
        );
        assert_eq!(
            PolicyGuard::action(&Metadata::new("SendMessageBatch", "SQS")),
            "sqs:SendMessage"
        );
    }
}
