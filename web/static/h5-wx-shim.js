// The npm build of the JS-SDK exports through CommonJS' module.exports; give it one to fill.
window.module = window.module || { exports: {} };
