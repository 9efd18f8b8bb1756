//! Where DeepLabv3 parameters come from: a seeded initialisation (torchvision's scheme), a
//! checkpoint file (`.safetensors`, or a zip-format PyTorch `.pth`), or nowhere (shapes only).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::deeplabv3::DeepLabV3;
use crate::presets::DeepLabV3Config;

/// Re-draws every variable of `varmap` from a ChaCha stream seeded with `seed`, in name order:
/// backbone convolutions Kaiming-normal (fan_out, ReLU gain) as torchvision's ResNet; head
/// convolutions, linear layers and their biases PyTorch's default U(±1/√fan_in); BatchNorm
/// weight 1, bias 0, running mean 0, running variance 1.
pub fn init_weights(varmap: &VarMap, seed: u64) -> Result<()> {
    init_weights_with(varmap, seed, |name| name.starts_with("backbone."))
}

/// [`init_weights`]'s scheme with `kaiming(name)` choosing the 4-D (convolution) weights drawn
/// Kaiming-normal (fan_out, ReLU gain); other convolution and linear weights get U(±1/√fan_in).
pub(crate) fn init_weights_with(
    varmap: &VarMap,
    seed: u64,
    kaiming: impl Fn(&str) -> bool,
) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?;
    let shapes: BTreeMap<&str, Vec<usize>> = data
        .iter()
        .map(|(name, var)| (name.as_str(), var.dims().to_vec()))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (&name, dims) in &shapes {
        let n: usize = dims.iter().product();
        let (module, leaf) = name.rsplit_once('.').unwrap_or(("", name));
        // Layers with a weight of rank ≥ 2 are convolutions or linear layers; rank 1 is BN.
        let layer_weight = shapes.get(format!("{module}.weight").as_str());
        let fan_in = |w: &Vec<usize>| w[1..].iter().product::<usize>() as f64;
        let values: Vec<f32> = match (leaf, layer_weight) {
            ("running_var", _) => vec![1.0; n],
            ("running_mean", _) => vec![0.0; n],
            ("weight", _) if dims.len() == 4 && kaiming(name) => {
                let fan_out = (dims[0] * dims[2] * dims[3]) as f64;
                let normal = Normal::new(0.0, (2.0 / fan_out).sqrt())
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                (0..n).map(|_| normal.sample(&mut rng) as f32).collect()
            }
            ("weight", _) if dims.len() >= 2 => uniform(&mut rng, n, fan_in(dims)),
            ("weight", _) => vec![1.0; n],
            ("bias", Some(w)) if w.len() >= 2 => uniform(&mut rng, n, fan_in(w)),
            ("bias", _) => vec![0.0; n],
            _ => candle_core::bail!("init_weights: no rule for parameter '{name}'"),
        };
        let var = &data[name];
        var.set(&Tensor::from_vec(values, dims.as_slice(), var.device())?.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

/// `n` draws from U(−1/√fan_in, 1/√fan_in) (PyTorch's default for conv and linear layers).
fn uniform(rng: &mut ChaCha8Rng, n: usize, fan_in: f64) -> Vec<f32> {
    let bound = 1.0 / fan_in.sqrt();
    (0..n)
        .map(|_| rng.random_range(-bound..bound) as f32)
        .collect()
}

/// A fresh trainable network: its parameters live in the returned VarMap (save it with
/// `VarMap::save` as safetensors), initialised by [`init_weights`] from `seed`.
pub fn new_trainable(
    config: DeepLabV3Config,
    seed: u64,
    device: &Device,
) -> Result<(DeepLabV3, VarMap)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = DeepLabV3::new(config, seed, vb)?;
    init_weights(&varmap, seed)?;
    Ok((model, varmap))
}

/// A fresh network for inference: [`new_trainable`]'s seeded initialisation with the
/// parameters as plain tensors ([`frozen`]).
pub fn new_seeded(config: DeepLabV3Config, seed: u64, device: &Device) -> Result<DeepLabV3> {
    let (_, varmap) = new_trainable(config, seed, device)?;
    DeepLabV3::new(config, seed, frozen(&varmap, device)?)
}

/// A VarBuilder over detached copies of `varmap`'s tensors (sharing their storage), for a
/// network that only runs forward. A forward pass through `Var`s records the autograd graph,
/// which keeps every intermediate activation alive as long as the output: ResNet-101
/// DeepLabv3 at batch 32 then ran out of an 80 GB GPU's memory.
pub fn frozen(varmap: &VarMap, device: &Device) -> Result<VarBuilder<'static>> {
    let tensors = varmap_tensors(varmap)?
        .into_iter()
        .map(|(name, t)| (name, t.detach()))
        .collect();
    Ok(VarBuilder::from_tensors(tensors, DType::F32, device))
}

/// Opens a checkpoint for [`DeepLabV3::new`]: `.safetensors` (memory-mapped) or a zip-format
/// PyTorch `.pth`/`.pt` state dict (`torch.save(model.state_dict(), path)`, torch ≥ 1.6).
/// Extra tensors (e.g. `num_batches_tracked`) are ignored; missing ones are an error.
pub fn checkpoint(path: &Path, device: &Device) -> Result<VarBuilder<'static>> {
    if !path.is_file() {
        candle_core::bail!(
            "weights file '{}' does not exist; pass the path of a .safetensors or .pth state dict",
            path.display()
        );
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => {
            // SAFETY: the file is mapped read-only; it must not be truncated while in use,
            // which is the caller's documented contract for weight files.
            unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, device) }
        }
        Some("pth" | "pt" | "bin") => VarBuilder::from_pth(path, DType::F32, device).map_err(|e| {
            candle_core::Error::Msg(format!(
                "cannot read '{}' as a zip-format PyTorch state dict ({e}); convert it with \
                 safetensors.torch.save_file(torch.load(path), 'weights.safetensors') \
                 (legacy files: re-save with torch >= 1.6 first)",
                path.display()
            ))
        }),
        _ => candle_core::bail!(
            "weights file '{}': unknown extension; use .safetensors or a zip-format .pth (convert legacy torch files by re-saving them with torch >= 1.6)",
            path.display()
        ),
    }
}

/// The tensors of `varmap` by name (weights and BatchNorm running statistics).
pub fn varmap_tensors(varmap: &VarMap) -> Result<HashMap<String, Tensor>> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?;
    Ok(data
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect())
}

/// Writes `tensors` as a safetensors file whose header carries `metadata` (e.g. the model
/// kind and preset), atomically: a reader never sees a half-written checkpoint.
pub fn save_checkpoint(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut sorted: Vec<(&String, &Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let metadata: HashMap<String, String> = metadata.clone().into_iter().collect();
    let bytes = safetensors::serialize(sorted, Some(metadata))
        .map_err(|e| candle_core::Error::Msg(format!("{}: {e}", path.display())))?;
    let tmp = path.with_extension("safetensors.partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| candle_core::Error::Msg(format!("cannot write {}: {e}", path.display())))
}

/// The `__metadata__` map of a safetensors file (empty when it has none).
pub fn checkpoint_metadata(bytes: &[u8]) -> Result<BTreeMap<String, String>> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| candle_core::Error::Msg(format!("not a safetensors file: {e}")))?;
    Ok(header
        .metadata()
        .clone()
        .map(|m| m.into_iter().collect())
        .unwrap_or_default())
}

/// The `__metadata__` of a `.safetensors` file, reading only its header (empty for other
/// formats, for files without metadata, and for missing files, which [`checkpoint`] reports).
pub fn checkpoint_file_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    use std::io::Read;
    if !path.is_file() || path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Ok(BTreeMap::new());
    }
    let fail = |e: std::io::Error| candle_core::Error::Msg(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(fail)?;
    let len = u64::from_le_bytes(len);
    if len > 100 << 20 {
        candle_core::bail!(
            "{}: not a safetensors file (header of {len} bytes)",
            path.display()
        );
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(fail)?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|e| {
        candle_core::Error::Msg(format!(
            "{}: corrupt safetensors header: {e}",
            path.display()
        ))
    })?;
    Ok(header["__metadata__"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// Records the name and shape of every parameter a network asks for, answering with a
/// broadcast scalar so nothing of that size is allocated.
#[derive(Default)]
struct ShapeRecorder {
    shapes: Arc<Mutex<BTreeMap<String, Vec<usize>>>>,
}

impl SimpleBackend for ShapeRecorder {
    fn get(&self, s: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.shapes
            .lock()
            .map_err(|_| candle_core::Error::Msg("shape recorder lock poisoned".into()))?
            .insert(name.to_string(), s.dims().to_vec());
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("shape recorder: '{name}' requested without a shape")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// Every parameter and buffer name of the network `config` describes, with its shape, in
/// torchvision's state-dict naming (without `num_batches_tracked`), computed without
/// allocating the weights.
pub fn state_dict_shapes(config: DeepLabV3Config) -> Result<BTreeMap<String, Vec<usize>>> {
    record_shapes(|vb| DeepLabV3::new(config, 0, vb).map(drop))
}

/// The name and shape of every tensor `build` asks its VarBuilder for, without allocating them.
pub(crate) fn record_shapes(
    build: impl FnOnce(VarBuilder<'static>) -> Result<()>,
) -> Result<BTreeMap<String, Vec<usize>>> {
    let recorder = ShapeRecorder::default();
    let shapes = recorder.shapes.clone();
    build(VarBuilder::from_backend(
        Box::new(recorder),
        DType::F32,
        Device::Cpu,
    ))?;
    let shapes = shapes
        .lock()
        .map_err(|_| candle_core::Error::Msg("shape recorder lock poisoned".into()))?
        .clone();
    Ok(shapes)
}

/// Number of trainable parameters (BatchNorm running statistics excluded) of `config`.
pub fn parameter_count(config: DeepLabV3Config) -> Result<usize> {
    Ok(trainable_count(&state_dict_shapes(config)?))
}

/// Elements of the tensors in `shapes` that are trained (all but BatchNorm running statistics).
pub(crate) fn trainable_count(shapes: &BTreeMap<String, Vec<usize>>) -> usize {
    shapes
        .iter()
        .filter(|(name, _)| !name.ends_with("running_mean") && !name.ends_with("running_var"))
        .map(|(_, dims)| dims.iter().product::<usize>())
        .sum()
}
