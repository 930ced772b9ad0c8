/* Keras Workshop: try the reference model in the page (workshop/site/demos.py builds the data).
 *
 * Each <section class="workshop-demo"> names its folder (model.onnx, demo.json) and the folder of
 * onnxruntime-web, both served by this site. Nothing loads until the reader asks for a first
 * prediction. After each prediction the section keeps what went in and what came out in
 * `section.workshopLast` (the browser tests compare it with Keras) and counts predictions in
 * `data-predictions`.
 */
(function () {
  "use strict";

  let runtime = null;
  function loadRuntime(base) {
    if (!runtime) {
      runtime = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = base + "ort.wasm.min.js";
        script.onload = function () {
          window.ort.env.wasm.wasmPaths = new URL(base, location.href).href;
          window.ort.env.wasm.numThreads = 1; // a static site is not cross-origin isolated
          resolve(window.ort);
        };
        script.onerror = function () {
          reject(new Error("onnxruntime-web could not be loaded from " + base));
        };
        document.head.appendChild(script);
      });
    }
    return runtime;
  }

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function ([key, value]) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  /* One demo: its data, a lazily created inference session, and a queue of one prediction. */
  function Demo(section, data) {
    this.section = section;
    this.data = data;
    this.session = null;
    this.count = 0;
    this.pending = null;
    this.running = false;
    this.status = element("p", { class: "workshop-demo__status", "aria-live": "polite" });
  }

  Demo.prototype.predict = function (values, dims, show) {
    this.pending = { values: values, dims: dims, show: show };
    if (!this.running) this.drain();
  };

  Demo.prototype.drain = async function () {
    this.running = true;
    this.section.dataset.busy = "true";
    try {
      while (this.pending) {
        const job = this.pending;
        this.pending = null;
        if (!this.session) {
          this.status.textContent = "Loading the model and onnxruntime-web…";
          const ort = await loadRuntime(this.section.dataset.runtime);
          this.session = await ort.InferenceSession.create(this.section.dataset.demo + "model.onnx");
        }
        const ort = window.ort;
        const input = new ort.Tensor("float32", Float32Array.from(job.values), job.dims);
        const result = await this.session.run({ input: input });
        const output = Array.from(result.output.data);
        this.section.workshopLast = { input: Array.from(job.values), dims: job.dims, output: output };
        this.count += 1;
        this.status.textContent = "";
        job.show(output);
        this.section.dataset.predictions = String(this.count);
      }
    } catch (error) {
      this.status.textContent = "The model could not run here: " + error.message;
      throw error;
    } finally {
      this.running = false;
      delete this.section.dataset.busy;
    }
  };

  /* Bars for probabilities, one per label, the largest marked. */
  function bars(container, labels, probabilities, threshold) {
    container.replaceChildren();
    const best = probabilities.indexOf(Math.max.apply(null, probabilities));
    labels.forEach(function (label, i) {
      const chosen = threshold === undefined ? i === best : probabilities[i] > threshold;
      const row = element("li", { class: chosen ? "workshop-demo__bar is-chosen" : "workshop-demo__bar" });
      row.appendChild(element("span", { class: "workshop-demo__label", text: label }));
      const track = element("span", { class: "workshop-demo__track", "aria-hidden": "true" });
      track.appendChild(element("span", { class: "workshop-demo__fill", style: "width:" + (100 * probabilities[i]).toFixed(1) + "%" }));
      row.appendChild(track);
      row.appendChild(element("span", { class: "workshop-demo__value", text: probabilities[i].toFixed(3) }));
      container.appendChild(row);
    });
  }

  function grayCanvas(size, scale, label) {
    const canvas = element("canvas", { width: size, height: size, role: "img", "aria-label": label, class: "workshop-demo__canvas" });
    canvas.style.width = canvas.style.height = size * scale + "px";
    return canvas;
  }

  function paintGray(canvas, pixels) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    pixels.forEach(function (value, i) {
      image.data.set([value, value, value, 255], 4 * i);
    });
    context.putImageData(image, 0, 0);
  }

  /* Unit 06: draw a garment on a 28 x 28 canvas, or start from a test image. */
  function garment(demo, app) {
    const data = demo.data;
    const size = data.size;
    let pixels = data.samples[0].pixels.slice();
    const canvas = grayCanvas(size, 8, "Your garment, 28 by 28 pixels: draw on it with the pointer");
    const output = element("ol", { class: "workshop-demo__bars", "aria-label": "Probability of each class" });
    const samples = element("div", { class: "workshop-demo__choices", role: "group", "aria-label": "Start from a test image" });
    function run() {
      paintGray(canvas, pixels);
      demo.predict(pixels, [1, size, size], function (probabilities) { bars(output, data.labels, probabilities); });
    }
    data.samples.forEach(function (sample) {
      const button = element("button", { type: "button", class: "md-button", text: sample.label });
      button.addEventListener("click", function () { pixels = sample.pixels.slice(); run(); });
      samples.appendChild(button);
    });
    const clear = element("button", { type: "button", class: "md-button", text: "Clear" });
    clear.addEventListener("click", function () { pixels = new Array(size * size).fill(0); paintGray(canvas, pixels); });
    samples.appendChild(clear);
    let drawing = false;
    function stroke(event) {
      const box = canvas.getBoundingClientRect();
      const x = ((event.clientX - box.left) / box.width) * size;
      const y = ((event.clientY - box.top) / box.height) * size;
      for (let row = Math.floor(y - 2); row <= y + 2; row++) {
        for (let column = Math.floor(x - 2); column <= x + 2; column++) {
          if (row < 0 || column < 0 || row >= size || column >= size) continue;
          const distance = Math.hypot(column + 0.5 - x, row + 0.5 - y);
          const ink = Math.round(255 * Math.max(0, Math.min(1, 1.6 - distance / 1.4)));
          pixels[row * size + column] = Math.max(pixels[row * size + column], ink);
        }
      }
      paintGray(canvas, pixels);
    }
    canvas.addEventListener("pointerdown", function (event) { drawing = true; canvas.setPointerCapture(event.pointerId); stroke(event); });
    canvas.addEventListener("pointermove", function (event) { if (drawing) stroke(event); });
    canvas.addEventListener("pointerup", function () { drawing = false; run(); });
    paintGray(canvas, pixels);
    app.append(element("div", { class: "workshop-demo__input" }, [canvas, samples]), element("div", { class: "workshop-demo__output" }, [output, demo.status]));
  }

  /* Unit 11: a 2 x 2 shop window, a garment (or nothing) in each place. */
  function windowDemo(demo, app) {
    const data = demo.data;
    const size = data.size;
    const canvas = grayCanvas(size, 4, "The shop window you dressed");
    const output = element("ol", { class: "workshop-demo__bars", "aria-label": "Probability of each class in the window" });
    const found = element("p", { class: "workshop-demo__answer" });
    const places = [];
    const controls = element("div", { class: "workshop-demo__choices" });
    for (let place = 0; place < data.grid * data.grid; place++) {
      const id = data.unit + "-place-" + place;
      const select = element("select", { id: id });
      select.appendChild(element("option", { value: "-1", text: "(empty)" }));
      data.samples.forEach(function (sample, i) { select.appendChild(element("option", { value: String(i), text: sample.label })); });
      select.value = String(data.windows[2][place]);
      select.addEventListener("change", run);
      places.push(select);
      controls.appendChild(element("label", { for: id, text: ["Top left", "Top right", "Bottom left", "Bottom right"][place] || "Place " + (place + 1) }));
      controls.appendChild(select);
    }
    function pixelsOf() {
      const pixels = new Array(size * size).fill(0);
      places.forEach(function (select, place) {
        const sample = Number(select.value);
        if (sample < 0) return;
        const top = Math.floor(place / data.grid) * 28, left = (place % data.grid) * 28;
        data.samples[sample].pixels.forEach(function (value, i) {
          pixels[(top + Math.floor(i / 28)) * size + left + (i % 28)] = value;
        });
      });
      return pixels;
    }
    function run() {
      const pixels = pixelsOf();
      paintGray(canvas, pixels);
      demo.predict(pixels, [1, size, size], function (probabilities) {
        bars(output, data.labels, probabilities, 0.5);
        const names = data.labels.filter(function (label, i) { return probabilities[i] > 0.5; });
        found.textContent = "The network finds: " + (names.join(", ") || "nothing") + ".";
      });
    }
    paintGray(canvas, pixelsOf());
    const go = element("button", { type: "button", class: "md-button md-button--primary", text: "Ask the network" });
    go.addEventListener("click", run);
    controls.appendChild(go);
    app.append(element("div", { class: "workshop-demo__input" }, [canvas, controls]), element("div", { class: "workshop-demo__output" }, [found, output, demo.status]));
  }

  /* Unit 07: a generated road frame, mirrored or shifted; the network's steering angle. */
  function road(demo, app) {
    const data = demo.data;
    const height = data.height, width = data.width;
    const frames = data.frames.map(function (frame) {
      return Uint8Array.from(atob(frame.pixels), function (c) { return c.charCodeAt(0); });
    });
    const canvas = element("canvas", { width: width, height: height, role: "img", "aria-label": "The road frame the network sees", class: "workshop-demo__canvas" });
    canvas.style.width = width * 4 + "px";
    canvas.style.height = height * 4 + "px";
    const choose = element("select", { id: data.unit + "-frame" });
    data.frames.forEach(function (frame, i) {
      choose.appendChild(element("option", { value: String(i), text: "Frame " + (i + 1) + " (true angle " + frame.angle.toFixed(1) + "°)" }));
    });
    const mirror = element("input", { type: "checkbox", id: data.unit + "-mirror" });
    const shift = element("input", { type: "range", id: data.unit + "-shift", min: "-16", max: "16", step: "1", value: "0" });
    const answer = element("p", { class: "workshop-demo__answer" });
    function pixelsOf() {
      const source = frames[Number(choose.value)];
      const pixels = new Array(height * width * 3);
      const offset = Number(shift.value);
      for (let row = 0; row < height; row++) {
        for (let column = 0; column < width; column++) {
          let from = mirror.checked ? width - 1 - column : column;
          from = Math.min(width - 1, Math.max(0, from - offset)); // edge pixels repeat
          for (let channel = 0; channel < 3; channel++) {
            pixels[(row * width + column) * 3 + channel] = source[(row * width + from) * 3 + channel];
          }
        }
      }
      return pixels;
    }
    function draw(pixels, angle) {
      const context = canvas.getContext("2d");
      const image = context.createImageData(width, height);
      for (let i = 0; i < width * height; i++) image.data.set([pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2], 255], 4 * i);
      context.putImageData(image, 0, 0);
      if (angle === undefined) return;
      const radians = (angle * Math.PI) / 180;
      context.strokeStyle = "#ff1744";
      context.lineWidth = 1.5;
      context.beginPath();
      context.moveTo(width / 2, height);
      context.lineTo(width / 2 + Math.sin(radians) * height * 0.6, height - Math.cos(radians) * height * 0.6);
      context.stroke();
    }
    function run() {
      const pixels = pixelsOf();
      draw(pixels);
      demo.predict(pixels, [1, height, width, 3], function (output) {
        draw(pixels, output[0]);
        const truth = data.frames[Number(choose.value)].angle * (mirror.checked ? -1 : 1);
        answer.textContent =
          "The network steers " + output[0].toFixed(1) + "° (red line)" +
          (Number(shift.value) === 0 ? "; the true angle is " + truth.toFixed(1) + "°." : "; shifted frames have no true angle: does it steer back towards the road?");
      });
    }
    [choose, mirror, shift].forEach(function (control) { control.addEventListener("change", run); });
    const controls = element("div", { class: "workshop-demo__choices" }, [
      element("label", { for: choose.id, text: "Frame" }), choose,
      element("label", { for: mirror.id, text: "Mirror it" }), mirror,
      element("label", { for: shift.id, text: "Shift the road sideways (pixels)" }), shift,
    ]);
    draw(pixelsOf());
    app.append(element("div", { class: "workshop-demo__input" }, [canvas, controls]), element("div", { class: "workshop-demo__output" }, [answer, demo.status]));
  }

  /* Unit 10: TF-IDF of a review as the model's TextVectorization computes it, then the network. */
  function review(demo, app) {
    const data = demo.data;
    const index = new Map(data.vocabulary.map(function (token, i) { return [token, i]; }));
    const strip = /[!"#$%&()*+,\-./:;<=>?@[\\\]^_`{|}~']/g; // Keras' punctuation, removed
    function vectorize(text) {
      const words = text.replace(/[A-Z]+/g, function (s) { return s.toLowerCase(); }).replace(strip, "")
        .split(/[ \t\n\r\f\v]+/).filter(Boolean);
      let tokens = words.slice();
      for (let n = 2; n <= data.ngrams; n++) {
        for (let i = 0; i + n <= words.length; i++) tokens.push(words.slice(i, i + n).join(" "));
      }
      const vector = new Array(data.vocabulary.length).fill(0);
      let known = 0;
      tokens.forEach(function (token) {
        const at = index.has(token) ? index.get(token) : 0;
        if (at) known++;
        vector[at] += 1;
      });
      return { vector: vector.map(function (count, i) { return count * data.idf[i]; }), known: known, tokens: tokens.length };
    }
    const id = data.unit + "-review";
    const text = element("textarea", { id: id, rows: "4", class: "workshop-demo__text" });
    text.value = data.examples[2];
    const answer = element("p", { class: "workshop-demo__answer" });
    const go = element("button", { type: "button", class: "md-button md-button--primary", text: "Ask the network" });
    function run() {
      const { vector, known, tokens } = vectorize(text.value);
      demo.predict(vector, [1, vector.length], function (output) {
        answer.textContent = "P(positive) = " + output[0].toFixed(3) + " (" + known + " of " + tokens + " words and word pairs are in the vocabulary).";
      });
    }
    go.addEventListener("click", run);
    let timer = null;
    text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 400); });
    app.append(element("div", { class: "workshop-demo__input" }, [element("label", { for: id, text: "Your review" }), text, go]), element("div", { class: "workshop-demo__output" }, [answer, demo.status]));
  }

  const KINDS = { garment: garment, window: windowDemo, road: road, review: review };

  document.querySelectorAll(".workshop-demo").forEach(async function (section) {
    const app = section.querySelector(".workshop-demo__app");
    try {
      const response = await fetch(section.dataset.demo + "demo.json");
      const data = await response.json();
      KINDS[data.kind](new Demo(section, data), app);
      app.hidden = false;
      section.classList.add("is-interactive");
    } catch (error) {
      app.hidden = true; // the samples and their answers stay on the page
    }
  });
})();
