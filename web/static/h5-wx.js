// Inside WeChat: sign wx.config on the server, then offer 扫一扫 and 选照片 beside the plain inputs.
// Anywhere else (a browser, the demo) nothing here runs and the page keeps its file input and typed code.
(function () {
  var script = document.currentScript;
  var wx = window.wx || (window.module && window.module.exports);
  if (!wx || !/MicroMessenger/i.test(navigator.userAgent)) return;
  var request = new XMLHttpRequest();
  request.open("GET", script.getAttribute("data-config") + "?url=" + encodeURIComponent(location.href.split("#")[0]));
  request.onload = function () {
    if (request.status !== 200) return;
    var config = JSON.parse(request.responseText);
    wx.config({ debug: false, appId: config.appId, timestamp: config.timestamp, nonceStr: config.nonceStr,
                signature: config.signature, jsApiList: config.jsApiList });
    wx.ready(function () {
      document.querySelectorAll(".wx-only").forEach(function (el) { el.hidden = false; });
      document.querySelectorAll("[data-wx-scan]").forEach(bindScan);
      document.querySelectorAll("[data-wx-image]").forEach(bindImage);
    });
  };
  request.send();

  function bindScan(button) {
    button.addEventListener("click", function () {
      wx.scanQRCode({ needResult: 1, scanType: ["qrCode"], success: function (res) {
        var input = document.querySelector(button.getAttribute("data-wx-scan"));
        input.value = res.resultStr;
        input.form.submit();
      } });
    });
  }

  function bindImage(button) {
    var field = document.querySelector(button.getAttribute("data-wx-image"));
    var note = document.querySelector(button.getAttribute("data-wx-note"));
    button.addEventListener("click", function () {
      wx.chooseImage({ count: 1, sizeType: ["compressed"], sourceType: ["camera", "album"], success: function (res) {
        wx.getLocalImgData({ localId: res.localIds[0], success: function (data) {
          var b64 = data.localData.replace(/^data:image\/\w+;base64,/, "");
          field.value = b64;
          if (note) note.textContent = "已选好照片（" + Math.round(b64.length * 3 / 4 / 1024) + " KB），提交时一起上传。";
        } });
      } });
    });
  }
})();
