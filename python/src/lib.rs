//! The compiled half of the `episode_recon` Python package
//! (`episode_recon._native`): the library's commands for the Python API in
//! `episode_recon/`, which takes the arguments a notebook has (paths or
//! tables), documents them, and turns the outputs into Arrow tables.
//!
//! Each function here is the CLI's command (src/main.rs) without its flags
//! and its printing: the same library calls in the same order, so a run
//! from Python is the run the command makes, byte for byte. The Python
//! interpreter is released (`Python::detach`) for every piece of Rust
//! work, so other Python threads go on while a run reads its claims; and
//! Ctrl-C stops a reconciliation ([`interruptible`]).
//!
//! Tables given as claims or beneficiaries come in as Arrow record batches
//! too, through the Arrow C stream interface ([`sources`]), and are read as
//! they stream. A run is kept as the library's result, whose tables leave
//! as Arrow record batches ([`ArrowStream`]); and, once something asks for its
//! files (`reprice`, `true_up`), as a folder of the files the CLI writes:
//! those read a run back from its folder ([`PriorRun::load`]), as the
//! CLI's commands do.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::engine::reconcile::{self, Inputs, Reconciliation};
use episode_recon::error::{Error, ErrorKind};
use episode_recon::input::arrow::BatchStream;
use episode_recon::input::beneficiaries::BeneficiariesFormat;
use episode_recon::input::folders;
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Input;
use episode_recon::model::parse_date;
use episode_recon::output::arrow;
use episode_recon::output::report::{
    self, CsvView, EPISODES, LEDGER, OutputFile, OutputFormat, PARTICIPANTS, PROVIDERS, REJECTS,
    Table,
};
use episode_recon::runs::pricing_files;
use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::reprice::{self, RepriceWith};
use episode_recon::runs::true_up::{self, TrueUp};
use episode_recon::runtime::stop;
use episode_recon::runtime::tunables::{self, Tunables};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyString};

/// The Python exception of an error's group: the classes of
/// `episode_recon.errors`, whose message is the one line the CLI prints
/// after `error: `.
fn to_python(error: Error) -> PyErr {
    let class = match error.kind() {
        ErrorKind::Configuration => "ConfigurationError",
        ErrorKind::InputData => "InputDataError",
        ErrorKind::Usage => "UsageError",
        ErrorKind::Environment => "MachineError",
        ErrorKind::Internal => "InternalError",
    };
    Python::attach(|py| {
        let raised = py
            .import("episode_recon.errors")
            .and_then(|errors| errors.getattr(class))
            .and_then(|class| class.call1((error.to_string(),)));
        match raised {
            Ok(exception) => PyErr::from_value(exception),
            // The package's own module is missing: say so rather than lose
            // the error.
            Err(import) => import,
        }
    })
}

/// How often a thread waiting for a run checks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Runs `work` on a thread of its own while this one waits, the
/// interpreter released but for a moment every [`SIGNAL_POLL`], when it
/// checks for a signal (`Python::check_signals`: Ctrl-C runs Python's
/// handler, which raises `KeyboardInterrupt`). On one, the library's runs
/// are asked to stop ([`stop::request`]): the run stops at its next
/// checkpoint, cleanly, and the handler's exception is raised once it has.
/// A signal is only seen on the main thread, as Python handles it there.
fn interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    let waiting = std::thread::current();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let result = work();
            done.store(true, Ordering::SeqCst);
            waiting.unpark();
            result
        });
        let mut raised = None;
        // A worker that panicked is finished without saying so.
        while !done.load(Ordering::SeqCst) && !worker.is_finished() {
            py.detach(|| std::thread::park_timeout(SIGNAL_POLL));
            if raised.is_none()
                && let Err(signal) = py.check_signals()
            {
                stop::request();
                raised = Some(signal);
            }
        }
        let result = py.detach(|| worker.join());
        if raised.is_some() {
            stop::clear();
        }
        let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match raised {
            Some(signal) => Err(signal),
            None => result.map_err(to_python),
        }
    })
}

/// An error of how the function was called, as the CLI's flag parser
/// reports a flag's value it cannot take.
fn usage(message: String) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// A folder holding a run's or a true-up's files: a temporary one this
/// module wrote (removed when the last object using it is gone), or one
/// the user named.
#[derive(Debug)]
struct Folder {
    path: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl Folder {
    /// A new temporary folder, and the path inside it to write into (the
    /// writers stage beside their `out`, so `out` is a child).
    fn temporary(what: &str) -> Result<Folder, Error> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("episode-recon-{what}-"))
            .tempdir()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Environment,
                    format!("cannot make a temporary folder for the {what}'s files: {e}"),
                )
            })?;
        Ok(Folder {
            path: dir.path().join(what),
            _temporary: Some(dir),
        })
    }
}

/// The folder of an object's files, written the first time it is asked
/// for (or set when the object was opened from one), and what the object
/// is (`run`, `true-up`: the temporary folder's name).
#[derive(Debug)]
struct Files {
    what: &'static str,
    folder: Mutex<Option<Arc<Folder>>>,
}

impl Files {
    /// Files of a `what` not written yet.
    fn of(what: &'static str) -> Files {
        Files {
            what,
            folder: Mutex::new(None),
        }
    }

    /// Files of a run already on disk, in `folder`.
    fn at(folder: PathBuf) -> Files {
        let folder = Folder {
            path: folder,
            _temporary: None,
        };
        Files {
            what: "run",
            folder: Mutex::new(Some(Arc::new(folder))),
        }
    }

    /// The folder; the first time, a temporary folder that `write` fills
    /// (as the CLI fills `--out`).
    fn get(&self, write: impl FnOnce(&Path) -> Result<(), Error>) -> Result<Arc<Folder>, Error> {
        let mut folder = self.folder.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(folder) = &*folder {
            return Ok(Arc::clone(folder));
        }
        let written = Folder::temporary(self.what)?;
        write(&written.path)?;
        Ok(Arc::clone(folder.insert(Arc::new(written))))
    }
}

/// How a run was made, which says how its files are written.
#[derive(Debug)]
enum Made {
    /// From claims (`reconcile`).
    Reconciled(Box<Reconciliation>),
    /// From an earlier run's folder, priced again (`reprice`).
    Repriced(Box<Repriced>),
    /// A run folder on disk, written by the CLI or by `write`.
    Opened,
    /// Parts of a run (disjoint beneficiaries, reconciled apart: the Spark
    /// path's buckets) priced together; its ledger and rejects are the
    /// parts', kept by the caller.
    PricedParts(Box<Reconciliation>),
}

/// A run priced again, with the run it was priced from: its ledger and
/// rejects are that run's, copied from its folder when written.
#[derive(Debug)]
struct Repriced {
    repriced: Reconciliation,
    prior: PriorRun,
    /// Keeps the earlier run's folder (a temporary one, when it was not
    /// written by the user) while this run may still copy from it.
    _prior_folder: Arc<Folder>,
}

/// What a run and a true-up have in common, and the one place the methods
/// Python calls on either are written ([`NativeOutputs`]): files the CLI
/// writes into `--out`, written into a temporary folder the first time they
/// are asked for, and a `summary.json`.
trait Outputs: Send + Sync {
    /// The folder of its files, once written.
    fn files(&self) -> &Files;

    /// Writes its files into `out`, as the CLI writes its `--out`.
    fn write_into(&self, out: &Path, force: bool) -> Result<(), Error>;

    /// Writes its `summary.json` into `json`.
    fn write_summary(&self, json: &mut Vec<u8>) -> Result<(), Error>;

    /// Whether it settled participants (and so has their file).
    fn has_participants(&self) -> Result<bool, Error>;

    /// `write(out, force)` from Python: what the CLI refuses of `--out`,
    /// then [`Outputs::write_into`].
    fn write(&self, out: &Path, force: bool) -> Result<(), Error> {
        self.write_into(out, force)
    }

    /// The folder of its files, written into a temporary folder the first
    /// time.
    fn folder(&self) -> Result<Arc<Folder>, Error> {
        self.files().get(|out| self.write_into(out, false))
    }
}

/// `summary.json` could not be written into memory: a bug.
fn summary_error(error: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("writing summary.json: {error}"),
    )
}

/// A reconciliation run: what `reconcile` and `reprice` return, and what
/// `open_run` reads.
#[derive(Debug)]
struct Run {
    made: Made,
    /// Its files, once written (or the folder it was opened from).
    files: Files,
    /// The files the run read, which `write(force=True)` must not replace.
    inputs: Vec<PathBuf>,
}

impl Run {
    /// A run made here, that read `inputs`; its files are written when
    /// first asked for.
    fn new(made: Made, inputs: Vec<PathBuf>) -> Run {
        Run {
            made,
            files: Files::of("run"),
            inputs,
        }
    }

    /// The library's result, unless the run was opened from a folder.
    fn reconciliation(&self) -> Option<&Reconciliation> {
        match &self.made {
            Made::Reconciled(recon) => Some(recon),
            Made::Repriced(r) => Some(&r.repriced),
            Made::PricedParts(recon) => Some(recon),
            Made::Opened => None,
        }
    }

    /// The run for Python.
    fn into_python(self, py: Python<'_>) -> PyResult<Py<NativeRun>> {
        let run = Arc::new(self);
        let outputs = NativeOutputs(Arc::clone(&run) as Arc<dyn Outputs>);
        Py::new(
            py,
            PyClassInitializer::from(outputs).add_subclass(NativeRun(run)),
        )
    }
}

impl Outputs for Run {
    fn files(&self) -> &Files {
        &self.files
    }

    fn write_into(&self, out: &Path, force: bool) -> Result<(), Error> {
        let view = CsvView::Exact;
        match &self.made {
            Made::Reconciled(recon) => report::write_outputs(recon, out, force, view)?,
            Made::Repriced(r) => {
                let format = OutputFormat::Csv(view);
                reprice::write(&r.repriced, &r.prior, out, force, format)?
            }
            Made::PricedParts(_) => {
                return Err(usage(
                    "a run priced from parts has no ledger or rejects of its own (they are the parts'): write its tables instead".into(),
                ));
            }
            Made::Opened => {
                let source = self.folder()?;
                let tables = [&EPISODES, &PROVIDERS, &LEDGER, &REJECTS, &PARTICIPANTS];
                let names = tables
                    .map(|table| format!("{}.csv", table.name))
                    .into_iter()
                    .chain(["summary.json".to_owned()]);
                let files: Vec<OutputFile> = names
                    .filter(|name| source.path.join(name).exists())
                    .map(|name| {
                        let from = source.path.join(&name);
                        OutputFile::new(name, move |w| {
                            std::io::copy(&mut std::fs::File::open(&from)?, w).map(drop)
                        })
                    })
                    .collect();
                report::write_folder(out, force, &files)?;
            }
        }
        Ok(())
    }

    /// The library's summary of the run; of a run opened from a folder,
    /// the folder's `summary.json`.
    fn write_summary(&self, json: &mut Vec<u8>) -> Result<(), Error> {
        let Some(recon) = self.reconciliation() else {
            let path = self.folder()?.path.join("summary.json");
            *json = std::fs::read(&path).map_err(|e| {
                Error::new(
                    ErrorKind::reading(ErrorKind::InputData, &e),
                    format!("{}: cannot read the run's output: {e}", path.display()),
                )
            })?;
            return Ok(());
        };
        report::write_summary(recon, CsvView::Exact, json).map_err(summary_error)
    }

    fn has_participants(&self) -> Result<bool, Error> {
        match self.reconciliation() {
            Some(recon) => Ok(recon.participants.is_some()),
            None => Ok(self.folder()?.path.join(report::PARTICIPANTS_FILE).exists()),
        }
    }

    /// Never replaces a folder that holds one of the run's inputs.
    fn write(&self, out: &Path, force: bool) -> Result<(), Error> {
        let inputs: Vec<&Path> = self.inputs.iter().map(PathBuf::as_path).collect();
        report::check_out_dir(out, force, &inputs)?;
        self.write_into(out, force)
    }
}

/// What a run and a true-up share, for Python: their files, summary,
/// participants and writing, once for both ([`Outputs`]). `NativeRun` and
/// `NativeTrueUp` are its subclasses.
#[pyclass(frozen, subclass, module = "episode_recon._native")]
struct NativeOutputs(Arc<dyn Outputs>);

#[pymethods]
impl NativeOutputs {
    /// The folder of the files (the CLI's `--out`), written into a
    /// temporary folder the first time it is asked for.
    fn files(&self, py: Python<'_>) -> PyResult<PathBuf> {
        py.detach(|| self.0.folder().map(|f| f.path.clone()))
            .map_err(to_python)
    }

    /// `summary.json`, as text.
    fn summary_json(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| {
            let mut json = Vec::new();
            self.0.write_summary(&mut json)?;
            String::from_utf8(json).map_err(|e| {
                Error::new(
                    ErrorKind::InputData,
                    format!(
                        "summary.json: not UTF-8 ({e}); expected the output of `episode-recon`"
                    ),
                )
            })
        })
        .map_err(to_python)
    }

    /// Whether participants were settled (and so their file is written:
    /// `participants.csv`, `true_up_participants.csv`).
    fn has_participants(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.0.has_participants()).map_err(to_python)
    }

    /// Writes the files into `out` (new or empty unless `force`), whole or
    /// not at all, as the CLI writes `--out`; `force` never replaces a
    /// folder that holds one of a run's inputs.
    fn write(&self, py: Python<'_>, out: PathBuf, force: bool) -> PyResult<()> {
        py.detach(|| self.0.write(&out, force)).map_err(to_python)
    }
}

/// A reconciliation run for Python: its tables and warnings, beside what
/// it shares with a true-up ([`NativeOutputs`]).
#[pyclass(frozen, extends = NativeOutputs, module = "episode_recon._native")]
struct NativeRun(Arc<Run>);

#[pymethods]
impl NativeRun {
    /// The table `name` (`episodes`, `providers`, `ledger`, `rejects`,
    /// `participants`) as Arrow record batches, typed as the library types
    /// a run's tables (src/output/arrow.rs); `None` when this run does not
    /// hold it (a run opened from a folder; a repriced run's ledger and
    /// rejects, which are the earlier run's) or has no such table.
    fn table(&self, py: Python<'_>, name: &str) -> PyResult<Option<ArrowStream>> {
        let Some(table) = [&EPISODES, &PROVIDERS, &LEDGER, &REJECTS, &PARTICIPANTS]
            .into_iter()
            .find(|table| table.name == name)
        else {
            return Ok(None);
        };
        let held = match &self.0.made {
            Made::Reconciled(recon) => Some(recon.as_ref()),
            Made::Repriced(r) if !matches!(name, "ledger" | "rejects") => Some(&r.repriced),
            Made::PricedParts(recon) if !matches!(name, "ledger" | "rejects") => {
                Some(recon.as_ref())
            }
            Made::Repriced(_) | Made::PricedParts(_) | Made::Opened => None,
        };
        let Some(recon) = held else { return Ok(None) };
        if table.name == PARTICIPANTS.name && recon.participants.is_none() {
            return Ok(None);
        }
        py.detach(|| ArrowStream::of(recon, table))
            .map(Some)
            .map_err(to_python)
    }

    /// The warnings the CLI shows on stderr for this run (the library
    /// logs them, and a notebook sees no log): all of a reconciliation's;
    /// of a repriced run, those about the pricing files it was given.
    fn warnings(&self) -> Vec<String> {
        let pricing = |recon: &Reconciliation| -> Vec<String> {
            let warnings = recon.warnings.iter();
            let about = warnings.filter(|w| w.kind.is_about_pricing());
            about.map(ToString::to_string).collect()
        };
        match &self.0.made {
            Made::Reconciled(recon) => recon.warnings.iter().map(ToString::to_string).collect(),
            Made::Repriced(r) => pricing(&r.repriced),
            Made::PricedParts(recon) => pricing(recon),
            Made::Opened => Vec::new(),
        }
    }
}

/// Record batches for Python, handed over once through the Arrow C stream
/// interface: `pyarrow.RecordBatchReader.from_stream`, `polars.DataFrame`
/// and DuckDB take it as they are, without a copy.
#[pyclass(frozen, module = "episode_recon._native")]
struct ArrowStream {
    stream: Mutex<Option<(SchemaRef, Vec<RecordBatch>)>>,
}

impl ArrowStream {
    fn of(recon: &Reconciliation, table: &Table) -> Result<ArrowStream, Error> {
        let batches = arrow::record_batches(recon, table).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("{} as Arrow record batches: {e}", table.name),
            )
        })?;
        Ok(ArrowStream {
            stream: Mutex::new(Some((arrow::schema(table), batches))),
        })
    }
}

#[pymethods]
impl ArrowStream {
    /// The Arrow PyCapsule interface: a capsule `arrow_array_stream`
    /// holding the batches. The stream is handed over once; the schema
    /// asked for is not looked at (the spec lets a producer keep its own).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let taken = self
            .stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some((schema, batches)) = taken else {
            return Err(to_python(Error::new(
                ErrorKind::Usage,
                "this table's stream was already read; ask the run for the table again",
            )));
        };
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The consumer moves the stream out of the capsule (marking it
        // released); one never taken is released when the capsule goes.
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}

/// Claims or beneficiaries as the Python API gives them, in reading order:
/// each a path (a file, or a folder standing for its files) or a table,
/// any object with `__arrow_c_stream__` (the Arrow PyCapsule interface:
/// pyarrow, polars, DuckDB, pandas 2.2), whose record batches cross into
/// Rust through the Arrow C stream interface without a copy and are read
/// as they come, never written to a file. A table goes by `<{what} table>`
/// in errors and in rejects (`<{what} table 2>`, counting the tables only,
/// when there are several), its rows numbered from 1.
fn sources(given: &[Bound<'_, PyAny>], what: &str) -> PyResult<Vec<Input>> {
    let tables = given
        .iter()
        .filter(|s| !s.is_instance_of::<PyString>())
        .count();
    let mut inputs = Vec::with_capacity(given.len());
    for source in given {
        if source.is_instance_of::<PyString>() {
            inputs.push(Input::File(source.extract()?));
            continue;
        }
        let name = match tables {
            1 => format!("<{what} table>"),
            _ => format!(
                "<{what} table {}>",
                inputs.iter().filter(|i| i.path().is_none()).count() + 1
            ),
        };
        inputs.push(Input::Table(Arc::new(batch_stream(source, name)?)));
    }
    Ok(inputs)
}

/// `inputs` with each folder replaced by its files (`expand`), and the
/// paths among them.
fn expanded(
    inputs: Vec<Input>,
    expand: impl Fn(&[PathBuf]) -> Result<Vec<PathBuf>, Error>,
) -> Result<(Vec<Input>, Vec<PathBuf>), Error> {
    let mut out = Vec::with_capacity(inputs.len());
    let mut paths = Vec::new();
    for input in inputs {
        match input {
            Input::File(path) => {
                let files = expand(std::slice::from_ref(&path))?;
                out.extend(files.iter().cloned().map(Input::File));
                paths.extend(files);
            }
            table => out.push(table),
        }
    }
    Ok((out, paths))
}

/// The record batches of `table` (an object with `__arrow_c_stream__`),
/// moved out of the capsule it hands over (the Arrow PyCapsule interface,
/// arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html:
/// a capsule named `arrow_array_stream` holding an `ArrowArrayStream`,
/// which the consumer moves out, leaving it released).
fn batch_stream(table: &Bound<'_, PyAny>, name: String) -> PyResult<BatchStream> {
    let unreadable = |problem: String| {
        to_python(Error::new(
            ErrorKind::InputData,
            format!("{name}: cannot read the table's batches: {problem}"),
        ))
    };
    let capsule = table
        .call_method0("__arrow_c_stream__")?
        .cast_into::<PyCapsule>()
        .map_err(|e| unreadable(format!("__arrow_c_stream__ did not return a capsule ({e})")))?;
    let pointer = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: a capsule of that name holds an `ArrowArrayStream` (the
    // interface above), checked by `pointer_checked`; `from_raw` moves it
    // out and marks the capsule's released, so its destructor frees
    // nothing and the stream is released once, by the reader.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(pointer.cast().as_ptr()) };
    let reader = RecordBatchStreamReader::try_new(stream).map_err(|e| unreadable(e.to_string()))?;
    Ok(BatchStream::new(name, Box::new(reader)))
}

/// Reconciles claims: the CLI's `reconcile` without `--out` (the run is
/// written when asked for, see [`NativeRun`]). Claims and beneficiaries
/// are paths or tables ([`sources`]).
#[pyfunction]
#[pyo3(name = "reconcile", signature = (
    claims, definitions, target_prices, beneficiaries, risk_factors, participants,
    settlement, as_of, claims_format, beneficiaries_format, strict, threads,
    memory_limit, allow_same_file
))]
#[allow(clippy::too_many_arguments)]
fn run_reconcile(
    py: Python<'_>,
    claims: Vec<Bound<'_, PyAny>>,
    definitions: PathBuf,
    target_prices: PathBuf,
    beneficiaries: Vec<Bound<'_, PyAny>>,
    risk_factors: Option<PathBuf>,
    participants: Option<PathBuf>,
    settlement: Option<PathBuf>,
    as_of: Option<String>,
    claims_format: String,
    beneficiaries_format: String,
    strict: bool,
    threads: Option<u16>,
    memory_limit: Option<u64>,
    allow_same_file: bool,
) -> PyResult<Py<NativeRun>> {
    let format = ClaimsFormat::parse(&claims_format).ok_or_else(|| {
        to_python(usage(format!(
            "claims_format: expected canonical, rif, synpuf, cclf, parquet or auto, found {claims_format:?}"
        )))
    })?;
    let beneficiaries_format = BeneficiariesFormat::parse(&beneficiaries_format).ok_or_else(|| {
        to_python(usage(format!(
            "beneficiaries_format: expected canonical, rif, synpuf, cclf, parquet or auto, found {beneficiaries_format:?}"
        )))
    })?;
    let claims = sources(&claims, "claims")?;
    let beneficiaries = sources(&beneficiaries, "beneficiaries")?;
    // Ctrl-C stops the run: it can take minutes.
    interruptible(py, || {
        let as_of = as_of
            .map(|text| {
                parse_date(text.as_bytes()).ok_or_else(|| {
                    usage(format!(
                        "as_of: expected a date as YYYY-MM-DD or YYYYMMDD, found {text:?}"
                    ))
                })
            })
            .transpose()?;
        let loaded_definitions = definitions::load_dir(&definitions)?;
        let prices = TargetPrices::load(&target_prices)?;
        let pricing = [&risk_factors, &participants, &settlement];
        let pricing: Vec<PathBuf> = pricing.into_iter().flatten().cloned().collect();
        let (risk_factors, settlement) = pricing_files::load(
            risk_factors.as_deref(),
            participants.as_deref(),
            settlement.as_deref(),
        )?;
        let (claims, claim_paths) = expanded(claims, |paths| Ok(format.expand(paths)?))?;
        let (beneficiaries, beneficiary_paths) = expanded(beneficiaries, |paths| {
            Ok(beneficiaries_format.expand(paths)?)
        })?;
        let mut inputs: Vec<PathBuf> = claim_paths.clone();
        inputs.extend([definitions, target_prices]);
        inputs.extend(beneficiary_paths.iter().cloned());
        inputs.extend(pricing);
        folders::check_distinct(
            &[
                ("--claims", &claim_paths),
                ("--beneficiaries", &beneficiary_paths),
            ],
            allow_same_file,
        )?;
        let run = Inputs {
            claims,
            as_of,
            strict,
            memory_limit: Tunables::DEFAULT.memory_limit(memory_limit),
            format,
            beneficiaries,
            beneficiaries_format,
            risk_factors,
            settlement,
            ..Inputs::new(Vec::new(), loaded_definitions, prices)
        };
        let pool = tunables::thread_pool(threads)?;
        let recon = pool.install(|| reconcile::run(run))?;
        let made = Made::Reconciled(Box::new(recon));
        Ok(Run::new(made, inputs))
    })?
    .into_python(py)
}

/// Prices a run again: the CLI's `reprice`, from the run's folder.
#[pyfunction]
#[pyo3(name = "reprice", signature = (run, target_prices, definitions, risk_factors, participants, settlement))]
fn run_reprice(
    py: Python<'_>,
    run: &NativeRun,
    target_prices: PathBuf,
    definitions: Option<PathBuf>,
    risk_factors: Option<PathBuf>,
    participants: Option<PathBuf>,
    settlement: Option<PathBuf>,
) -> PyResult<Py<NativeRun>> {
    py.detach(|| {
        let prior_folder = run.0.folder()?;
        let mut inputs = vec![prior_folder.path.clone(), target_prices.clone()];
        inputs.extend(
            [&definitions, &risk_factors, &participants, &settlement]
                .into_iter()
                .flatten()
                .cloned(),
        );
        let prior = PriorRun::load(&prior_folder.path)?;
        let prices = TargetPrices::load(&target_prices)?;
        let loaded = match &definitions {
            Some(dir) => Some((dir.as_path(), definitions::load_dir(dir)?)),
            None => None,
        };
        let given = loaded.as_ref().map(|(dir, defs)| (*dir, defs.as_slice()));
        let repriced = with_pricing(&risk_factors, &participants, &settlement, |with| {
            Ok(reprice::reprice(&prior, given, &prices, with)?)
        })?;
        let made = Made::Repriced(Box::new(Repriced {
            repriced,
            prior,
            _prior_folder: prior_folder,
        }));
        Ok(Run::new(made, inputs))
    })
    .map_err(to_python)?
    .into_python(py)
}

/// The pricing files of a reprice (`None` where not given), read and
/// checked, handed to `price` as the library takes them.
fn with_pricing<T>(
    risk_factors: &Option<PathBuf>,
    participants: &Option<PathBuf>,
    settlement: &Option<PathBuf>,
    price: impl FnOnce(&RepriceWith<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let (risk_factors, settlement) = pricing_files::load(
        risk_factors.as_deref(),
        participants.as_deref(),
        settlement.as_deref(),
    )?;
    price(&RepriceWith {
        risk_factors: risk_factors.as_ref(),
        settlement: settlement.as_ref(),
    })
}

/// Prices runs of disjoint beneficiaries (folders of the parts' files)
/// together, as one run: the global steps of the Spark path, on the
/// driver ([`reprice::reprice_parts`]).
#[pyfunction]
#[pyo3(signature = (parts, target_prices, risk_factors, participants, settlement))]
fn price_parts(
    py: Python<'_>,
    parts: Vec<PathBuf>,
    target_prices: PathBuf,
    risk_factors: Option<PathBuf>,
    participants: Option<PathBuf>,
    settlement: Option<PathBuf>,
) -> PyResult<Py<NativeRun>> {
    py.detach(|| {
        let parts = parts
            .iter()
            .map(|folder| PriorRun::load(folder))
            .collect::<Result<Vec<_>, _>>()?;
        let prices = TargetPrices::load(&target_prices)?;
        let whole = with_pricing(&risk_factors, &participants, &settlement, |with| {
            Ok(reprice::reprice_parts(&parts, &prices, with)?)
        })?;
        let made = Made::PricedParts(Box::new(whole));
        Ok(Run::new(made, Vec::new()))
    })
    .map_err(to_python)?
    .into_python(py)
}

/// Opens a run folder written by the CLI's `reconcile` or `reprice`, or by
/// `write`, as a run (for `reprice` and `true_up`).
#[pyfunction]
fn open_run(py: Python<'_>, folder: PathBuf) -> PyResult<Py<NativeRun>> {
    py.detach(|| {
        // Read back now, so a folder that is not a run is refused here.
        PriorRun::load(&folder)?;
        Ok(Run {
            made: Made::Opened,
            inputs: vec![folder.clone()],
            files: Files::at(folder),
        })
    })
    .map_err(to_python)?
    .into_python(py)
}

/// What changed between two runs and what is now due: the CLI's `true-up`.
struct Compared {
    true_up: TrueUp,
    files: Files,
}

impl Outputs for Compared {
    fn files(&self) -> &Files {
        &self.files
    }

    fn write_into(&self, out: &Path, force: bool) -> Result<(), Error> {
        Ok(true_up::write(&self.true_up, out, force, CsvView::Exact)?)
    }

    fn write_summary(&self, json: &mut Vec<u8>) -> Result<(), Error> {
        true_up::write_summary(&self.true_up, CsvView::Exact, json).map_err(summary_error)
    }

    /// Whether both runs settled participants.
    fn has_participants(&self) -> Result<bool, Error> {
        Ok(self.true_up.participants.is_some())
    }
}

/// A true-up for Python: what it shares with a run ([`NativeOutputs`]);
/// its tables are read from its files.
#[pyclass(frozen, extends = NativeOutputs, module = "episode_recon._native")]
struct NativeTrueUp;

/// Compares two runs: the CLI's `true-up`, from their folders.
#[pyfunction]
#[pyo3(name = "true_up")]
fn run_true_up(
    py: Python<'_>,
    previous: &NativeRun,
    current: &NativeRun,
) -> PyResult<Py<NativeTrueUp>> {
    let compared = py
        .detach(|| {
            let before = PriorRun::load(&previous.0.folder()?.path)?;
            let now = PriorRun::load(&current.0.folder()?.path)?;
            let true_up = true_up::compare(&before, &now)?;
            Ok(Compared {
                true_up,
                files: Files::of("true-up"),
            })
        })
        .map_err(to_python)?;
    let outputs = NativeOutputs(Arc::new(compared));
    Py::new(
        py,
        PyClassInitializer::from(outputs).add_subclass(NativeTrueUp),
    )
}

/// The package's version (the engine's: both crates move together).
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", VERSION)?;
    module.add_class::<NativeOutputs>()?;
    module.add_class::<NativeRun>()?;
    module.add_class::<NativeTrueUp>()?;
    module.add_class::<ArrowStream>()?;
    module.add_function(wrap_pyfunction!(run_reconcile, module)?)?;
    module.add_function(wrap_pyfunction!(run_reprice, module)?)?;
    module.add_function(wrap_pyfunction!(open_run, module)?)?;
    module.add_function(wrap_pyfunction!(price_parts, module)?)?;
    module.add_function(wrap_pyfunction!(run_true_up, module)?)?;
    Ok(())
}
