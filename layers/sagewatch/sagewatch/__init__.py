"""sagewatch: find the SageMaker AI inference endpoints that burn money, and say what to do."""

__version__ = "0.1.0"
