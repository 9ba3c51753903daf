// WeChat's subscribe button (服务号订阅通知, issue 15): inside WeChat's browser only, the page shows WeChat's own
// open tag <wx-open-subscribe> for the store's subscription templates, so she can allow the follow-ups of her
// visit (feedback request, first-visit follow-up, one-month check-in) to come by WeChat instead of SMS. WeChat
// renders the tag only after wx.config(...), signed by the API for this page's address (GET …/wechat/js-config).
// Her choice goes from WeChat to the store's account server (subscribe_msg_popup_event), never through this page.
// WeChat's JS-SDK is the one file the page fetches from elsewhere (res.wx.qq.com), and only inside WeChat.

import { api } from "./api.js";

export const SDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js";

export function inWeChat() {
  return /MicroMessenger/i.test(navigator.userAgent);
}

let sdk = null;

function loadSdk() {
  if (window.wx) return Promise.resolve(window.wx);
  sdk = sdk || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SDK_URL;
    script.onload = () => (window.wx ? resolve(window.wx) : reject(new Error("WeChat JS-SDK: no wx")));
    script.onerror = () => reject(new Error("WeChat JS-SDK did not load"));
    document.head.append(script);
  });
  return sdk;
}

// Puts WeChat's button in `slot`, or calls `gone()` when there is none to show: outside WeChat, a store without an
// Official Account or subscription templates, the API or the SDK not answering, WeChat refusing the configuration
// or the tag. The tag's own markup is rendered by WeChat, apart from the page (so no page style reaches it); the
// label is text, never markup.
export async function offerSubscribe(slot, label, gone) {
  if (!inWeChat()) return gone();
  let config;
  try {
    config = await api.wechatJsConfig(location.href.split("#")[0]);
  } catch {
    return gone();
  }
  const templates = config.subscribe_template_ids || [];
  if (!templates.length) return gone();
  let wx;
  try {
    wx = await loadSdk();
  } catch {
    return gone();
  }
  wx.config({
    debug: false,
    appId: config.app_id,
    timestamp: config.timestamp,
    nonceStr: config.nonce_str,
    signature: config.signature,
    jsApiList: [],
    openTagList: config.open_tags,
  });
  wx.error(() => gone());
  const tag = document.createElement("wx-open-subscribe");
  tag.setAttribute("template", templates.join(","));
  tag.setAttribute("data-testid", "wechat-subscribe");
  const markup = document.createElement("script");
  markup.type = "text/wxtag-template";
  const button = document.createElement("button");
  button.textContent = label;
  markup.textContent = button.outerHTML;
  tag.append(markup);
  tag.addEventListener("error", () => gone());
  slot.replaceChildren(tag);
}
