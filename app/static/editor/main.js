// Kakehashi content editor: article list, article editor, knowledge gaps. Loaded as a
// module by app/templates/editor_*.html; the page's <main data-page> says which.
//
// No dependencies, no build step. User-typed text is only ever set with textContent; the
// only HTML inserted is the server-sanitised `html` of /api/preview and /api/try.

import { root } from "./api.js";
import { initArticle } from "./article.js";
import { initGaps } from "./gaps.js";
import { initList } from "./list.js";

var page = root ? root.getAttribute("data-page") : null;
if (page === "list") initList();
else if (page === "article") initArticle();
else if (page === "gaps") initGaps();
