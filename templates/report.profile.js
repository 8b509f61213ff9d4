// optadvisor HTML report, profile section: the flamegraph (an icicle: callers above
// callees, width = share of samples). Inlined into profile pages only and allowed by its
// CSP hash; reads the folded stacks from <script type="application/json"
// id="optadvisor-profile"> and writes only text (textContent), never HTML.
(function () {
  "use strict";
  var holder = document.getElementById("flame");
  var source = document.getElementById("optadvisor-profile");
  if (!holder || !source) return;
  var data = JSON.parse(source.textContent);
  var tip = document.getElementById("flame-tip");
  var crumb = document.getElementById("flame-crumb");
  var reset = document.getElementById("flame-reset");
  var search = document.getElementById("flame-q");
  var panel = holder.parentNode;
  var ROW = 20;
  var MIN_LABEL_PX = 26;

  function parse(label) {
    // "name (path:line)": the name is what the bar shows, the place goes in the tooltip.
    var open = label.lastIndexOf(" (");
    if (open > 0 && label.charAt(label.length - 1) === ")") {
      return { name: label.slice(0, open), where: label.slice(open + 2, -1) };
    }
    return { name: label, where: "" };
  }

  function make(label, parent) {
    var parts = parse(label);
    return {
      label: label, name: parts.name, where: parts.where, value: 0, idle: 0, self: 0,
      children: [], byLabel: Object.create(null), parent: parent,
      depth: parent ? parent.depth + 1 : 0, el: null, x: 0, w: 0
    };
  }

  var IMPORTING = / \(<frozen importlib\._bootstrap(?:_external)?>(?::\d+)?\)$/;
  var IMPORT_LABEL = "importing (<frozen importlib>)";

  function lineless(label) {
    // "name (path:12)" -> "name (path)": one frame per function rather than per line.
    return label.replace(/:\d+\)$/, ")");
  }

  var root, nodes, maxDepth;

  function build(byLine) {
    root = make("all", null);
    root.name = "all samples";
    (data.stacks || []).forEach(function (stack) {
      var n = Number(stack.samples) || 0;
      var idle = Math.min(Number(stack.idle) || 0, n);
      if (n <= 0) return;
      var node = root;
      node.value += n;
      node.idle += idle;
      (stack.frames || []).forEach(function (frame) {
        var label = byLine ? String(frame) : lineless(String(frame));
        if (!byLine && IMPORTING.test(label)) {
          // The import machinery's frames, one run of them as one frame.
          if (node.label === IMPORT_LABEL) return;
          label = IMPORT_LABEL;
        }
        var child = node.byLabel[label];
        if (!child) {
          child = make(label, node);
          node.byLabel[label] = child;
          node.children.push(child);
        }
        child.value += n;
        child.idle += idle;
        node = child;
      });
      node.self += n;
    });
    // Depth-first order, heaviest callee first; every frame gets its element now.
    nodes = [];
    maxDepth = 0;
    var todo = [root];
    while (todo.length) {
      var node = todo.pop();
      node.index = nodes.length;
      nodes.push(node);
      if (node.depth > maxDepth) maxDepth = node.depth;
      node.children.sort(function (a, b) { return b.value - a.value || (a.label < b.label ? -1 : 1); });
      for (var i = node.children.length - 1; i >= 0; i--) todo.push(node.children[i]);
    }
    while (holder.firstChild) holder.removeChild(holder.firstChild);
    var fragment = document.createDocumentFragment();
    nodes.forEach(function (node) {
      var el = document.createElement("div");
      el.className = "fr";
      el.setAttribute("data-i", String(node.index));
      el.style.top = (node.depth * ROW) + "px";
      el.style.background = colour(node);
      node.el = el;
      fragment.appendChild(el);
    });
    holder.appendChild(fragment);
    holder.style.height = ((maxDepth + 1) * ROW) + "px";
    holder.setAttribute("data-frames", String(nodes.length));
  }

  function hash(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(h);
  }

  function kind(node) {
    if (node === root) return "root";
    if (node.value && node.idle / node.value > 0.5) return "idle";
    var where = node.where;
    if (where.indexOf("<site-packages>") === 0) return "pkg";
    if (where.charAt(0) === "<" || where.indexOf("\u2026/") === 0 || !where) return "std";
    return "user";
  }

  function colour(node) {
    var h = hash(node.name);
    switch (kind(node)) {
      case "root": return "hsl(232 22% 84%)";
      case "idle":
        // Waiting, not running: grey stripes, so it never reads as CPU.
        var light = 76 + h % 6;
        return "repeating-linear-gradient(135deg, hsl(220 10% " + light + "%) 0 6px, hsl(220 10% " +
          (light - 6) + "%) 6px 9px)";
      case "pkg": return "hsl(" + (140 + h % 30) + " 55% " + (58 + h % 10) + "%)";
      case "std": return "hsl(" + (198 + h % 26) + " 70% " + (68 + h % 10) + "%)";
      default: return "hsl(" + (h % 36) + " 85% " + (60 + h % 12) + "%)";
    }
  }

  var lineToggle = document.getElementById("flame-lines");
  build(lineToggle ? lineToggle.checked : false);
  if (!root.value) return;
  var total = root.value;
  var focus = root;
  if (lineToggle) {
    lineToggle.addEventListener("change", function () {
      build(lineToggle.checked);
      focus = root;
      layout();
    });
  }

  function pct(n, of) { return of ? (100 * n / of).toFixed(1) + " %" : "–"; }

  function layout() {
    var width = holder.clientWidth || 1;
    nodes.forEach(function (node) { node.shown = false; });
    for (var a = focus; a; a = a.parent) {
      a.x = 0;
      a.w = 1;
      a.shown = true;
    }
    var stack = [focus];
    while (stack.length) {
      var parent = stack.pop();
      var x = parent.x;
      parent.children.forEach(function (child) {
        child.x = x;
        child.w = parent.w * child.value / parent.value;
        x += child.w;
        child.shown = child.w * width >= 1;
        if (child.shown) stack.push(child);
      });
    }
    var deepest = 0;
    nodes.forEach(function (node) {
      var el = node.el;
      if (node.shown && node.depth > deepest) deepest = node.depth;
      if (!node.shown) {
        el.style.display = "none";
        return;
      }
      el.style.display = "";
      el.style.left = (node.x * 100) + "%";
      el.style.width = (node.w * 100) + "%";
      el.textContent = node.w * width >= MIN_LABEL_PX ? node.name : "";
      el.classList.toggle("anc", node !== focus && isAncestor(node, focus));
      el.classList.toggle("focus", node === focus && focus !== root);
    });
    holder.style.height = ((deepest + 1) * ROW) + "px";
    reset.disabled = focus === root;
    crumb.textContent = focus === root
      ? total.toLocaleString() + " samples. Click a frame to zoom in."
      : "Zoomed to " + focus.label + ": " + focus.value.toLocaleString() + " samples, " +
        pct(focus.value, total) + " of all. Click a frame above it, Reset or Esc to zoom out.";
    highlight();
  }

  function isAncestor(a, b) {
    for (var n = b.parent; n; n = n.parent) if (n === a) return true;
    return false;
  }

  function zoom(node) {
    focus = node || root;
    layout();
  }

  function nodeOf(target) {
    var el = target && target.closest ? target.closest(".fr") : null;
    return el && holder.contains(el) ? nodes[Number(el.getAttribute("data-i"))] : null;
  }

  function line(cls, text) {
    var span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    return span;
  }

  function showTip(node, event) {
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(line("tip-name", node.name));
    if (node.where) tip.appendChild(line("tip-where", node.where));
    var nums = node.value.toLocaleString() + " samples · " + pct(node.value, total) + " of all";
    if (focus !== root && node !== focus && !isAncestor(node, focus)) {
      nums += " · " + pct(node.value, focus.value) + " of " + focus.name;
    }
    tip.appendChild(line("tip-nums", nums));
    var own = node.self ? "own code " + pct(node.self, total) : "no samples of its own";
    tip.appendChild(line("tip-nums", own + (node.idle ? " · waiting " + pct(node.idle, node.value) + " of its time" : "")));
    tip.hidden = false;
    var box = panel.getBoundingClientRect();
    var x = event.clientX - box.left + 14;
    var y = event.clientY - box.top + 16;
    if (x + tip.offsetWidth > box.width - 8) x = Math.max(8, event.clientX - box.left - tip.offsetWidth - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  holder.addEventListener("mousemove", function (event) {
    var node = nodeOf(event.target);
    if (node) showTip(node, event); else tip.hidden = true;
  });
  holder.addEventListener("mouseleave", function () { tip.hidden = true; });
  holder.addEventListener("click", function (event) {
    var node = nodeOf(event.target);
    if (node && node !== focus) zoom(node);
  });
  reset.addEventListener("click", function () { zoom(root); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && focus !== root) zoom(root);
  });

  function highlight() {
    var q = search ? search.value.trim().toLowerCase() : "";
    var matched = 0;
    nodes.forEach(function (node) {
      var hit = !!q && node !== root && node.label.toLowerCase().indexOf(q) >= 0;
      node.hit = hit;
      node.el.classList.toggle("hit", hit);
      node.el.classList.toggle("dim", !!q && !hit && node.shown && node !== root);
    });
    if (!q) return;
    // Share of samples under a matching frame, each sample counted once.
    nodes.forEach(function (node) {
      if (node.hit) {
        for (var a = node.parent; a; a = a.parent) if (a.hit) return;
        matched += node.value;
      }
    });
    crumb.textContent = "\u201c" + search.value.trim() + "\u201d matches " + pct(matched, total) + " of the samples.";
  }
  if (search) search.addEventListener("input", function () { layout(); });

  var pending = 0;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = window.requestAnimationFrame(function () { pending = 0; layout(); });
  });
  layout();
})();
