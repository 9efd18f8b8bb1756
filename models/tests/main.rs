//! The integration tests of `models`, in one binary (`cargo test -p models --test integration`):
//! the candle ops, DeepLabv3 and Xception against PyTorch references, training, the losses and
//! the `deeplabv3` and `stehouwer` localizers. Fixtures are in the workspace's tests/fixtures.

mod deeplab_common;
mod localizer_common;
mod stehouwer_common;

mod batch_split;
mod deeplab_ops;
mod deeplab_parity;
mod deeplab_train;
mod losses;
mod stehouwer_localizer;
mod stehouwer_ops;
mod stehouwer_parity;
