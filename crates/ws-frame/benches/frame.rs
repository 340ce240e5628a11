//! Microbenchmarks of the wire format: header decode/encode, masking against
//! memcpy, and UTF-8 validation against std.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_frame::{
    apply_mask, FrameHeader, OpCode, ReceiveRules, Role, Utf8Validator, MAX_HEADER_LEN,
};

fn headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    let rules = ReceiveRules::new(Role::Server);
    let masked_small = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
    let masked_large = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
    group.bench_function("decode_masked_7bit", |b| {
        b.iter(|| FrameHeader::decode(black_box(&masked_small), &rules))
    });
    group.bench_function("decode_masked_64bit", |b| {
        b.iter(|| FrameHeader::decode(black_box(&masked_large), &rules))
    });
    let header = FrameHeader {
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::new(OpCode::Binary, 70000)
    };
    group.bench_function("encode_masked_64bit", |b| {
        let mut out = [0u8; MAX_HEADER_LEN];
        b.iter(|| black_box(&header).encode(&mut out))
    });
    group.finish();
}

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [20usize, 64, 1024, 65536] {
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0x5au8; size];
        let source = vec![0xa5u8; size];
        group.bench_with_input(BenchmarkId::new("apply_mask", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), [1, 2, 3, 4], 1))
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&source)))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    let text = "Grüße, 世界! ".repeat(65536 / 16).into_bytes();
    let ascii = vec![b'a'; 65536];
    for (name, data) in [("mixed_64k", &text), ("ascii_64k", &ascii)] {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(BenchmarkId::new("streaming", name), |b| {
            b.iter(|| {
                let mut validator = Utf8Validator::new();
                validator.feed(black_box(data)).unwrap();
                validator.finish().unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("std", name), |b| {
            b.iter(|| std::str::from_utf8(black_box(data)).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, headers, masking, utf8);
criterion_main!(benches);
