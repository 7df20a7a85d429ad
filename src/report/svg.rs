//! Inline SVG drawings: the gauge, the radar and the topology. Built as text
//! here, never from templates; every label goes through [`filters::xml`].

use std::f64::consts::PI;
use std::fmt::Write;

use super::filters::{coordinate as c, xml};
use crate::scale::Score;

fn fraction(score: Score) -> f64 {
    ((score.as_f64() - 2.0) / 2.0).clamp(0.0, 1.0)
}

/// A half-circle gauge from 2.0 (left) to 4.0 (right) with a needle at
/// `verified` and a marker at `declared`.
pub fn gauge(verified: Option<Score>, declared: Option<Score>, label: &str) -> String {
    let (cx, cy, r) = (160.0, 150.0, 120.0);
    let point = |t: f64, radius: f64| {
        let angle = PI * (1.0 - t);
        (cx + radius * angle.cos(), cy - radius * angle.sin())
    };
    let mut svg = format!(
        r#"<svg class="gauge" viewBox="0 0 320 215" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        xml(label)
    );
    let colours = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60"];
    for (band, colour) in colours.iter().enumerate() {
        let (x1, y1) = point(band as f64 / 4.0, r);
        let (x2, y2) = point((band + 1) as f64 / 4.0, r);
        let _ = write!(
            svg,
            r#"<path d="M {} {} A {r} {r} 0 0 1 {} {}" fill="none" stroke="{colour}" stroke-width="22"/>"#,
            c(x1),
            c(y1),
            c(x2),
            c(y2)
        );
    }
    for (index, level) in Score::LEVELS.iter().enumerate() {
        let (x, y) = point(index as f64 / 4.0, r + 22.0);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="tick">{}</text>"#,
            c(x),
            c(y + 4.0),
            level
        );
    }
    if let Some(declared) = declared {
        let (x, y) = point(fraction(declared), r - 16.0);
        let _ = write!(
            svg,
            r#"<circle cx="{}" cy="{}" r="6" class="declared-mark"/>"#,
            c(x),
            c(y)
        );
    }
    if let Some(verified) = verified {
        let (x, y) = point(fraction(verified), r - 20.0);
        let _ = write!(
            svg,
            r#"<line x1="{cx}" y1="{cy}" x2="{}" y2="{}" class="needle"/><circle cx="{cx}" cy="{cy}" r="8" class="hub"/><text x="{cx}" y="{}" class="value">{}</text>"#,
            c(x),
            c(y),
            c(cy + 55.0),
            verified.one_decimal()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One series of the radar.
pub struct Series<'a> {
    /// CSS class (`declared`, `verified`, `target`).
    pub class: &'a str,
    /// One score per axis; `None` is drawn at the centre.
    pub scores: Vec<Option<Score>>,
}

/// A radar with one axis per dimension, 2.0 at the centre and 4.0 at the edge.
pub fn radar(axes: &[String], series: &[Series<'_>], label: &str) -> String {
    // Wide margins: axis labels are whole dimension names in three languages.
    let (cx, cy, r) = (330.0, 210.0, 150.0);
    let n = axes.len().max(3) as f64;
    let point = |axis: usize, t: f64| {
        let angle = -PI / 2.0 + 2.0 * PI * axis as f64 / n;
        (cx + r * t * angle.cos(), cy + r * t * angle.sin())
    };
    let mut svg = format!(
        r#"<svg class="radar" viewBox="0 0 660 420" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        xml(label)
    );
    for (ring, level) in Score::LEVELS.iter().enumerate().skip(1) {
        let t = ring as f64 / 4.0;
        let points: Vec<String> = (0..axes.len())
            .map(|a| {
                let (x, y) = point(a, t);
                format!("{},{}", c(x), c(y))
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polygon points="{}" class="ring"/>"#,
            points.join(" ")
        );
        let (x, y) = point(0, t);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="ring-label">{level}</text>"#,
            c(x + 4.0),
            c(y - 2.0)
        );
    }
    for (axis, name) in axes.iter().enumerate() {
        let (x, y) = point(axis, 1.0);
        let (lx, ly) = point(axis, 1.12);
        let anchor = if (lx - cx).abs() < 1.0 {
            "middle"
        } else if lx > cx {
            "start"
        } else {
            "end"
        };
        // Long names (Kazakh ones especially) go on two lines.
        let lines = split_label(name);
        let first_y = ly + 4.0 - 7.0 * (lines.len() as f64 - 1.0);
        let _ = write!(
            svg,
            r#"<line x1="{cx}" y1="{cy}" x2="{}" y2="{}" class="axis"/><text x="{}" y="{}" text-anchor="{anchor}" class="axis-label">"#,
            c(x),
            c(y),
            c(lx),
            c(first_y)
        );
        for (index, line) in lines.iter().enumerate() {
            let dy = if index == 0 { 0.0 } else { 14.0 };
            let _ = write!(
                svg,
                r#"<tspan x="{}" dy="{dy}">{}</tspan>"#,
                c(lx),
                xml(line)
            );
        }
        svg.push_str("</text>");
    }
    for series in series {
        let points: Vec<String> = series
            .scores
            .iter()
            .enumerate()
            .map(|(axis, score)| {
                let (x, y) = point(axis, score.map_or(0.0, fraction));
                format!("{},{}", c(x), c(y))
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polygon points="{}" class="series {}"/>"#,
            points.join(" "),
            xml(series.class)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Splits a label longer than 16 characters at the space nearest its middle.
fn split_label(label: &str) -> Vec<String> {
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= 16 {
        return vec![label.to_owned()];
    }
    let middle = chars.len() / 2;
    let split = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == ' ')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(middle));
    match split {
        Some(at) => vec![
            chars[..at].iter().collect(),
            chars[at + 1..].iter().collect(),
        ],
        None => vec![label.to_owned()],
    }
}

/// A node of the topology drawing.
pub struct Node {
    /// Row: 0 supervision, 1 control, 2 behind a gateway.
    pub row: usize,
    /// First line (role).
    pub title: String,
    /// Second line (address).
    pub address: String,
    /// Third line (identity), already cut to a sensible length.
    pub detail: String,
    /// Index of the node this one hangs from (a gateway), if any.
    pub parent: Option<usize>,
    /// CSS class (the role).
    pub class: String,
}

const NODE_W: f64 = 170.0;
const NODE_H: f64 = 58.0;
const GAP_X: f64 = 14.0;
const ROW_Y: [f64; 3] = [20.0, 130.0, 250.0];
/// Nodes drawn per row; the rest are summarised in a "+N" box.
pub const MAX_PER_ROW: usize = 8;

/// The plant network by ISA-95 level: supervision on top, control below,
/// field devices hanging from their gateways at the bottom.
pub fn topology(nodes: &[Node], label: &str, network_label: &str) -> String {
    let mut rows: [Vec<usize>; 3] = Default::default();
    for (index, node) in nodes.iter().enumerate() {
        rows[node.row.min(2)].push(index);
    }
    let widest = rows
        .iter()
        .map(|r| r.len().min(MAX_PER_ROW + 1))
        .max()
        .unwrap_or(1)
        .max(1);
    let width = (widest as f64 * (NODE_W + GAP_X) + GAP_X).max(400.0);
    let height = if rows[2].is_empty() { 220.0 } else { 330.0 };
    let mut svg = format!(
        r#"<svg class="topology" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        c(width),
        c(height),
        xml(label)
    );
    let bus_y = 108.0;
    let _ = write!(
        svg,
        r#"<line x1="8" y1="{bus_y}" x2="{}" y2="{bus_y}" class="bus"/><text x="10" y="{}" class="bus-label">{}</text>"#,
        c(width - 8.0),
        bus_y - 4.0,
        xml(network_label)
    );
    let mut position = vec![None; nodes.len()];
    for (row, members) in rows.iter().enumerate() {
        for (slot, index) in members.iter().enumerate().take(MAX_PER_ROW) {
            let x = GAP_X + slot as f64 * (NODE_W + GAP_X);
            position[*index] = Some((x, ROW_Y[row]));
        }
        if members.len() > MAX_PER_ROW {
            let x = GAP_X + MAX_PER_ROW as f64 * (NODE_W + GAP_X);
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{}" width="{NODE_W}" height="{NODE_H}" rx="6" class="node more"/><text x="{}" y="{}" class="node-title">+{}</text>"#,
                c(x),
                ROW_Y[row],
                c(x + 10.0),
                ROW_Y[row] + 34.0,
                members.len() - MAX_PER_ROW
            );
        }
    }
    // Links first, so boxes cover their ends.
    for (index, node) in nodes.iter().enumerate() {
        let Some((x, y)) = position[index] else {
            continue;
        };
        let mid = x + NODE_W / 2.0;
        match node.parent.and_then(|p| position.get(p).copied().flatten()) {
            Some((px, py)) => {
                let _ = write!(
                    svg,
                    r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="link serial"/>"#,
                    c(px + NODE_W / 2.0),
                    c(py + NODE_H),
                    c(mid),
                    c(y)
                );
            }
            None if node.row < 2 => {
                let (y1, y2) = if y < bus_y {
                    (y + NODE_H, bus_y)
                } else {
                    (bus_y, y)
                };
                let _ = write!(
                    svg,
                    r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="link"/>"#,
                    c(mid),
                    c(y1),
                    c(mid),
                    c(y2)
                );
            }
            None => {}
        }
    }
    for (index, node) in nodes.iter().enumerate() {
        let Some((x, y)) = position[index] else {
            continue;
        };
        let _ = write!(
            svg,
            r#"<g class="node {}"><rect x="{}" y="{}" width="{NODE_W}" height="{NODE_H}" rx="6"/><text x="{}" y="{}" class="node-title">{}</text><text x="{}" y="{}" class="node-address">{}</text><text x="{}" y="{}" class="node-detail">{}</text></g>"#,
            xml(&node.class),
            c(x),
            c(y),
            c(x + 8.0),
            c(y + 17.0),
            xml(&node.title),
            c(x + 8.0),
            c(y + 33.0),
            xml(&node.address),
            c(x + 8.0),
            c(y + 49.0),
            xml(&node.detail)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Band colours, 2.0 … 4.0 (also the dashboard's legend).
pub const BAND_COLOURS: [&str; 5] = ["#c0392b", "#e67e22", "#f1c40f", "#7dbb5a", "#27ae60"];

/// A horizontal bar split by band: each segment's width is its share of
/// `counts`, with a tooltip `band: count`.
pub fn bands_bar(counts: &[u64; 5], width: f64, height: f64, label: &str) -> String {
    let total: u64 = counts.iter().sum();
    let mut svg = format!(
        r#"<svg class="bands" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        c(width),
        c(height),
        c(width),
        c(height),
        xml(label)
    );
    if total == 0 {
        let _ = write!(
            svg,
            r##"<rect x="0" y="0" width="{}" height="{}" fill="#eceff3"/>"##,
            c(width),
            c(height)
        );
    }
    let mut x = 0.0;
    for ((count, colour), level) in counts.iter().zip(BAND_COLOURS).zip(Score::LEVELS) {
        if *count == 0 || total == 0 {
            continue;
        }
        let w = width * *count as f64 / total as f64;
        let _ = write!(
            svg,
            r#"<rect x="{}" y="0" width="{}" height="{}" fill="{colour}"><title>{level}: {count}</title></rect>"#,
            c(x),
            c(w),
            c(height)
        );
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_split_near_the_middle() {
        assert_eq!(split_label("Automation"), ["Automation"]);
        assert_eq!(
            split_label("Қызметкерлердің біліктілігі"),
            ["Қызметкерлердің", "біліктілігі"]
        );
        assert_eq!(
            split_label("Connectivity & interoperability"),
            ["Connectivity &", "interoperability"]
        );
    }

    #[test]
    fn labels_are_escaped_in_every_drawing() {
        let hostile = "<script>x</script>".to_owned();
        let radar = radar(std::slice::from_ref(&hostile), &[], "r");
        let gauge = gauge(None, None, &hostile);
        let node = Node {
            row: 1,
            title: hostile.clone(),
            address: hostile.clone(),
            detail: hostile.clone(),
            parent: None,
            class: hostile.clone(),
        };
        let topology = topology(&[node], &hostile, &hostile);
        for svg in [radar, gauge, topology] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
        }
    }
}
