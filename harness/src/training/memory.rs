//! Before training: one probe step at batch 1 that finds the map size the network produces and
//! measures the memory one image costs, so a config that cannot fit fails with a clear message
//! instead of being killed mid-run.

use localizers::models::candle_core::{DType, Device, Tensor};
use localizers::models::{build_trainable, varmap_tensors};

use super::{TrainConfig, TrainError};

/// Reads a `kB` field of `/proc/self/status` or `/proc/meminfo`, in bytes.
fn proc_kb(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const GIB: f64 = (1u64 << 30) as f64;

/// Runs one training step's forward and backward at batch 1 on a throw-away copy of the network
/// and returns the map (width, height). On a CPU it also extrapolates the peak memory to the
/// configured batch and errors when it exceeds 90 % of the available memory.
pub fn probe(config: &TrainConfig, device: &Device) -> Result<(u32, u32), TrainError> {
    // Resets the peak-RSS counter (Linux), so the probe's own peak is what VmHWM shows.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = proc_kb("/proc/self/status", "VmRSS:");
    let (net, varmap) = build_trainable(&config.model, config.seed, device)?;
    let s = config.input_size as usize;
    let x = Tensor::zeros((1, 3, s, s), DType::F32, device)?;
    let output = net.forward_train(&x, true)?;
    let (n, c, h, w) = output.map_logits.dims4()?;
    if n != 1 || c != 1 {
        return Err(TrainError::Model(format!(
            "expected a 1×1×h×w map from the network, got {:?}",
            output.map_logits.dims()
        )));
    }
    output.map_logits.sum_all()?.backward()?;
    let peak = proc_kb("/proc/self/status", "VmHWM:");
    let available = proc_kb("/proc/meminfo", "MemAvailable:");
    if let (Device::Cpu, Some(before), Some(peak), Some(available)) =
        (device, before, peak, available)
    {
        let elements: usize = varmap_tensors(&varmap)?
            .values()
            .map(|t| t.elem_count())
            .sum();
        let params = elements as f64 * 4.0;
        // The probe held weights and gradients; the rest scales with the batch.
        let per_image = (peak.saturating_sub(before) as f64 - 2.0 * params).max(0.0);
        // Training adds gradients and Adam's two moments to the weights already allocated.
        let need = per_image * config.batch as f64 + 3.0 * params;
        if need > 0.9 * available as f64 {
            return Err(TrainError::Config(format!(
                "{}: training needs about {:.1} GiB ({:.2} GiB per image × batch {} + optimiser state {:.2} GiB) but only {:.1} GiB are available; lower training.batch or training.input_size, or choose a smaller preset",
                config.path.display(),
                need / GIB,
                per_image / GIB,
                config.batch,
                3.0 * params / GIB,
                available as f64 / GIB
            )));
        }
    }
    Ok((w as u32, h as u32))
}
