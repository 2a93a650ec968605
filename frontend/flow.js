// The Docs tab's flow graph: dagre lays the server's graph out, this draws it as SVG.
// Bundled by esbuild (`make static`) into static/vendor/fastn-flow.js (window.FastnFlow).
import dagre from "@dagrejs/dagre";

const SVG = "http://www.w3.org/2000/svg";
const CHAR = 7.2;
const KIND_LABEL = { TRIGGER: "TRIGGER", PROCESS: "PROCESS", DECISION: "DECISION", READ: "READ", WRITE: "WRITE", DONE: "DONE" };

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function size(node) {
  const text = Math.max(node.label.length, 8) * CHAR;
  const width = Math.min(Math.max(text + 28, 120), 340);
  if (node.kind === "DECISION") return { width: width + 40, height: 58 };
  return { width, height: 46 };
}

function clip(label, width) {
  const max = Math.floor((width - 24) / CHAR);
  return label.length > max ? label.slice(0, max - 1) + "…" : label;
}

function shape(group, node, w, h) {
  const kind = node.kind;
  if (kind === "DECISION" && node.detail && node.detail.loop) {
    const c = 14;
    el("polygon", { points: `${c},0 ${w - c},0 ${w},${h / 2} ${w - c},${h} ${c},${h} 0,${h / 2}`, class: "shape" }, group);
  } else if (kind === "DECISION") {
    el("polygon", { points: `${w / 2},0 ${w},${h / 2} ${w / 2},${h} 0,${h / 2}`, class: "shape" }, group);
  } else if (kind === "TRIGGER" || kind === "DONE") {
    el("rect", { x: 0, y: 0, width: w, height: h, rx: h / 2, class: "shape" }, group);
  } else {
    el("rect", { x: 0, y: 0, width: w, height: h, rx: 6, class: "shape" }, group);
    if (kind === "READ" || kind === "WRITE") el("rect", { x: 0, y: 0, width: 6, height: h, rx: 2, class: "bar" }, group);
  }
}

function curve(points) {
  if (!points.length) return "";
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return d + ` L${points[1].x},${points[1].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
    d += ` Q${points[i].x},${points[i].y} ${i === points.length - 2 ? points[i + 1].x : mid.x},${i === points.length - 2 ? points[i + 1].y : mid.y}`;
  }
  return d;
}

export function render(container, graph, options = {}) {
  container.textContent = "";
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 38, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const groups = new Set(graph.nodes.map((n) => n.group).filter((name) => name !== "main"));
  for (const name of groups) g.setNode("group:" + name, { label: "function " + name, clusterLabelPos: "top", paddingTop: 24 });
  for (const node of graph.nodes) {
    g.setNode(node.id, { ...size(node), node });
    if (node.group !== "main") g.setParent(node.id, "group:" + node.group);
  }
  // Layout sees a DAG that follows the code: a loop's way back is given to dagre
  // reversed (and drawn reversed), so it never pulls a header below its body;
  // calls to helpers are not laid out at all (drawn afterwards, faint).
  const calls = [];
  graph.edges.forEach((edge, index) => {
    if (edge.kind === "call") {
      calls.push(edge);
      return;
    }
    const label = edge.label || "";
    const back = edge.kind === "loop";
    g.setEdge(back ? edge.target : edge.source, back ? edge.source : edge.target, {
      edge, back, label, width: label ? label.length * 6.5 + 6 : 0, height: label ? 14 : 0, labelpos: "c",
      weight: back ? 1 : 2, minlen: 1,
    }, "e" + index);
  });
  // A loop's exit is drawn after the whole body, not beside it: an invisible
  // edge from each end of the body to where the loop leads keeps them apart.
  const loopEnds = {};
  for (const edge of graph.edges) if (edge.kind === "loop") (loopEnds[edge.target] = loopEnds[edge.target] || []).push(edge.source);
  graph.edges.forEach((edge, index) => {
    if (edge.label !== "done" || !loopEnds[edge.source]) return;
    loopEnds[edge.source].forEach((end, n) => {
      if (end !== edge.target && !g.hasEdge(end, edge.target)) g.setEdge(end, edge.target, { invisible: true, weight: 0, minlen: 1, width: 0, height: 0 }, `inv${index}-${n}`);
    });
  });
  dagre.layout(g);
  const info = g.graph();
  const width = Math.ceil(info.width || 200);
  const height = Math.ceil(info.height || 100);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "flow-svg", role: "img",
    "aria-label": "Flow graph: " + graph.nodes.length + " steps" }, container);
  const defs = el("defs", {}, svg);
  for (const kind of ["next", "branch", "skip", "error", "loop", "parallel", "call"]) {
    const marker = el("marker", { id: "arrow-" + kind, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", class: "arrow-" + kind }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  }
  for (const name of groups) {
    const box = g.node("group:" + name);
    const cluster = el("g", { class: "flow-cluster" }, svg);
    el("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: 10 }, cluster);
    el("text", { x: box.x - box.width / 2 + 10, y: box.y - box.height / 2 + 16 }, cluster).textContent = "function " + name;
  }
  const edgeLayer = el("g", { class: "flow-edges" }, svg);
  for (const e of g.edges()) {
    const data = g.edge(e);
    if (data.invisible) continue;
    const kind = data.edge.kind;
    const points = data.back ? data.points.slice().reverse() : data.points;
    const group = el("g", { class: "flow-edge edge-" + kind, "data-source": data.edge.source, "data-target": data.edge.target }, edgeLayer);
    const path = el("path", { d: curve(points), "marker-end": `url(#arrow-${kind})` }, group);
    if (data.label) {
      // A decision's yes/no/case labels sit just after the decision, where the
      // branches part; other labels in the middle of their edge.
      let at = { x: data.x, y: data.y };
      if ((kind === "branch" || kind === "skip") && path.getTotalLength) {
        const length = path.getTotalLength();
        if (length > 0) at = path.getPointAtLength(Math.min(30, length / 2));
      }
      const t = el("text", { x: at.x, y: at.y + 4, "text-anchor": "middle", class: "edge-label" }, group);
      t.textContent = data.label;
    }
  }
  // A helper called from many places would be tied to all of them by long
  // lines: past three calls the caller's label ("enrich(…)") says it instead.
  const callsTo = {};
  for (const edge of calls) callsTo[edge.target] = (callsTo[edge.target] || 0) + 1;
  for (const edge of calls) {
    if (callsTo[edge.target] > 3) continue;
    const from = g.node(edge.source), to = g.node(edge.target);
    if (!from || !to) continue;
    const group = el("g", { class: "flow-edge edge-call", "data-source": edge.source, "data-target": edge.target }, edgeLayer);
    const start = { x: from.x + from.width / 2, y: from.y };
    const end = { x: to.x - to.width / 2, y: to.y };
    const bend = Math.max(40, Math.abs(end.x - start.x) / 2);
    el("path", { d: `M${start.x},${start.y} C${start.x + bend},${start.y} ${end.x - bend},${end.y} ${end.x},${end.y}`, "marker-end": "url(#arrow-call)" }, group);
  }
  const nodeLayer = el("g", { class: "flow-nodes" }, svg);
  const byId = {};
  for (const id of g.nodes()) {
    const layout = g.node(id);
    if (!layout || !layout.node) continue;
    const node = layout.node;
    const w = layout.width, h = layout.height;
    const classes = ["flow-node", "kind-" + node.kind.toLowerCase()];
    if (node.detail && node.detail.outcome === "error") classes.push("outcome-error");
    if (node.detail && node.detail.early) classes.push("early");
    const group = el("g", { class: classes.join(" "), transform: `translate(${layout.x - w / 2},${layout.y - h / 2})`,
      "data-node": node.id, "data-kind": node.kind, "data-line": node.line, tabindex: 0, role: "button" }, nodeLayer);
    el("title", {}, group).textContent = `${KIND_LABEL[node.kind]} · line ${node.line}${node.end_line > node.line ? "–" + node.end_line : ""}\n${node.label}`;
    shape(group, node, w, h);
    el("text", { x: w / 2, y: 15, "text-anchor": "middle", class: "kind" }, group).textContent =
      node.detail && node.detail.loop ? "LOOP" : KIND_LABEL[node.kind];
    el("text", { x: w / 2, y: node.kind === "DECISION" ? 36 : 32, "text-anchor": "middle", class: "label" }, group).textContent =
      clip(node.label, node.kind === "DECISION" && !(node.detail && node.detail.loop) ? w * 0.7 : w);
    if (options.onNodeClick) {
      group.addEventListener("click", () => options.onNodeClick(node));
      group.addEventListener("keydown", (event) => { if (event.key === "Enter") options.onNodeClick(node); });
    }
    byId[node.id] = group;
  }
  let scale = 1;
  const setScale = (value) => {
    scale = Math.max(0.3, Math.min(2.5, value));
    svg.setAttribute("width", Math.round(width * scale));
    svg.setAttribute("height", Math.round(height * scale));
  };
  // A graph wider than its pane starts scaled to fit (not below 60 %: the rest scrolls).
  const room = container.clientWidth - 4;
  if (room > 0 && width > room) setScale(Math.max(0.6, room / width));
  return {
    svg, width, height,
    zoom(factor) {
      setScale(factor === null ? 1 : scale * factor);
    },
    // Marks the nodes a run went through (the Sequence view).
    highlight(match) {
      for (const node of graph.nodes) {
        const hit = match(node);
        byId[node.id] && byId[node.id].classList.toggle("visited", !!hit);
      }
    },
  };
}

window.FastnFlow = { render };
