import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { applyTheme, loadTheme } from "./lib/theme.ts";

applyTheme(loadTheme());

const target = document.getElementById("app");
if (target) mount(App, { target });
