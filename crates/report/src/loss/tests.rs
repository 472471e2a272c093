use super::*;

#[test]
fn labels() {
    assert_eq!(level_label("VaR", "99%"), "VaR 99%");
    assert_eq!(level_label("VaR", "0.99"), "VaR 99%");
    assert_eq!(level_label("ES", "0.975"), "ES 97.5%");
    assert_eq!(level_label("ES", "97.5"), "ES 97.5%");
    assert_eq!(level_label("VaR", "VaR 95%"), "VaR 95%");
}

#[test]
fn heavy_tail_goes_log_and_counts_every_path() {
    let mut pos: Vec<f64> = (1..=1000).map(|i| 1000.0 + i as f64).collect();
    pos.push(1.0e9);
    let b = bin(&pos, &[]);
    assert_eq!(b.scale, Scale::Log10);
    assert_eq!(b.counts.iter().sum::<u64>(), 1001);
    assert!((MIN_BINS..=MAX_BINS).contains(&b.counts.len()));
    assert_eq!(*b.counts.last().unwrap_or(&0), 1);
}

#[test]
fn narrow_sample_is_linear_from_zero() {
    let pos: Vec<f64> = (1..=100).map(|i| 1.0e6 + 1.0e4 * i as f64).collect();
    let b = bin(&pos, &[]);
    assert_eq!(b.scale, Scale::Linear);
    assert_eq!(b.start, 0.0);
    assert_eq!(b.counts.iter().sum::<u64>(), 100);
}

#[test]
fn single_value_has_a_range() {
    let b = bin(&[5.0], &[5.0]);
    assert!(b.width > 0.0);
    assert_eq!(b.counts.iter().sum::<u64>(), 1);
}

#[test]
fn rounding() {
    assert_eq!(round_sig(3162.2776, 2), 3200.0);
    assert_eq!(round_sig(0.0, 2), 0.0);
}

/// Two labels' boxes (one row = LABELS.row_h pixels tall) are apart: on different rows, or at least
/// `LABELS.gap` apart on one row.
fn apart(a: &Placed, b: &Placed) -> bool {
    a.row != b.row || a.right + LABELS.gap <= b.left || b.right + LABELS.gap <= a.left
}

#[test]
fn close_markers_get_separate_rows() {
    // VaR 99% and ES 95% 3 px apart, 70 px labels: they cannot share a row.
    let p = layout_labels(&[(400.0, 70.0), (403.0, 70.0)], (84.0, 988.0));
    assert_eq!(p[0].row, 0);
    assert_eq!(p[1].row, 1);
    // Right of the line by the pad.
    assert_eq!(p[0].left, 404.0);
    assert_eq!(p[0].right, 474.0);
}

#[test]
fn far_markers_share_a_row() {
    // 200 px apart with 70 px labels: 404–474 and 604–674, 130 px of gap.
    let p = layout_labels(&[(400.0, 70.0), (600.0, 70.0)], (84.0, 988.0));
    assert_eq!((p[0].row, p[1].row), (0, 0));
}

#[test]
fn labels_near_the_right_edge_go_left_of_their_line() {
    // x = 960: 964 + 70 > 988, so the label ends at 956 and starts at 886.
    let p = layout_labels(&[(960.0, 70.0)], (84.0, 988.0));
    assert_eq!((p[0].left, p[0].right), (886.0, 956.0));
    // A marker at the left edge with a label wider than the plot stays inside on the left.
    let p = layout_labels(&[(84.0, 2000.0)], (84.0, 988.0));
    assert_eq!(p[0].left, 84.0);
}

#[test]
fn six_markers_at_one_place_stack_without_overlap() {
    let m: Vec<(f64, f64)> = (0..6).map(|k| (500.0 + k as f64, 80.0)).collect();
    let p = layout_labels(&m, (84.0, 988.0));
    for (i, a) in p.iter().enumerate() {
        for b in &p[i + 1..] {
            assert!(apart(a, b), "{a:?} {b:?}");
        }
    }
    assert_eq!(p.iter().map(|x| x.row).max(), Some(5));
}

/// Losses and markers at the edge of `f64` (or beyond) still give a histogram, quickly,
/// with finite coordinates.
#[test]
fn extreme_losses_finish() {
    for losses in [
        vec![1.7e308, 1.0e308, f64::MAX, 5e-324, 0.0],
        vec![f64::MAX; 3],
        vec![5e-324; 4],
        vec![1.0, f64::INFINITY, f64::NAN],
    ] {
        let svg = loss_distribution_svg(
            &losses,
            &[("99%".into(), f64::MAX), ("95%".into(), 5e-324)],
            &[("99%".into(), f64::INFINITY), ("95%".into(), f64::NAN)],
            "t",
        );
        assert!(svg.starts_with("<svg"), "{losses:?}");
        assert!(!svg.contains("could not be drawn"), "{losses:?}");
        assert!(!svg.contains("NaN"), "{losses:?}");
    }
}
