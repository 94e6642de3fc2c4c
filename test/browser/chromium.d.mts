// Types for test/browser/chromium.mjs. Kept free of Node typings, like the e2e harness's.
import type { BrowserContext } from "playwright-core";

export interface Browser {
	context: BrowserContext;
	/** closes the browser and removes its profile */
	close(): Promise<void>;
}

export interface Site {
	port: number;
	close(): Promise<void>;
}

export declare const CHROMIUM_PATH: string;
export declare function launchBrowser(options?: {
	viewport?: { width: number; height: number };
}): Promise<Browser>;
export declare function screenshotDir(): Promise<string>;
export declare function startSite(html: string): Promise<Site>;
