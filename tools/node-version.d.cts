export declare const REQUIRED_MAJOR: number;
export declare function unsupportedNode(version?: string): string | undefined;
export declare function exitUnlessSupportedNode(): void;
